/**
 * The pack as the Pulumi CLI runs it: started from `policies/` (PulumiPolicy.yaml, package.json, index.ts),
 * it prints its gRPC port, and the analyzer protocol the CLI speaks lists every rule and reports violations.
 */
import * as grpc from "@grpc/grpc-js";
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

/* eslint-disable @typescript-eslint/no-require-imports */
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const analyzerRpc = require(path.join(pulumiDir, "proto", "analyzer_grpc_pb.js"));
const analyzerPb = require(path.join(pulumiDir, "proto", "analyzer_pb.js"));
const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [pulumiDir] }));
const { Empty } = require(require.resolve("google-protobuf/google/protobuf/empty_pb", { paths: [pulumiDir] }));
/* eslint-enable @typescript-eslint/no-require-imports */

const root = path.join(__dirname, "..", "..");
const packDir = path.join(root, "policies");

function call<T>(client: any, method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) =>
        client[method](request, { deadline: Date.now() + 30_000 }, (error: Error | null, response: T) => (error ? reject(error) : resolve(response))),
    );
}

describe("policy pack under the Pulumi CLI's layout (analyzer gRPC protocol)", function () {
    this.timeout(90_000);
    let pack: ChildProcess;
    let client: any;

    before(async () => {
        assert.ok(fs.existsSync(path.join(packDir, "PulumiPolicy.yaml")), "policies/PulumiPolicy.yaml");
        assert.equal(JSON.parse(fs.readFileSync(path.join(packDir, "package.json"), "utf8")).main, "index.ts");
        pack = spawn(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), "index.ts"], {
            cwd: packDir,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        pack.stderr!.on("data", (chunk) => (stderr += String(chunk)));
        const port = await new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`the pack printed no port within 60 s: ${stderr}`)), 60_000);
            pack.stdout!.once("data", (chunk) => {
                clearTimeout(timer);
                resolve(String(chunk).trim().split("\n")[0]);
            });
            pack.once("exit", (code) => reject(new Error(`the pack exited with ${code}: ${stderr}`)));
        });
        assert.match(port, /^\d+$/);
        client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        pack?.kill("SIGKILL");
    });

    it("lists every rule with its enforcement level", async () => {
        const info = await call<any>(client, "getAnalyzerInfo", new Empty());
        assert.equal(info.getName(), "ray-s3-access");
        const levels = Object.fromEntries(info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()]));
        const { EnforcementLevel } = analyzerPb;
        assert.deepEqual(levels, {
            "no-s3-wildcard-in-production": EnforcementLevel.MANDATORY,
            "irsa-trust-pinned": EnforcementLevel.MANDATORY,
            "irsa-trust-pinned-advisory": EnforcementLevel.ADVISORY,
            "trust-principals-pinned": EnforcementLevel.MANDATORY,
            "trust-principals-pinned-advisory": EnforcementLevel.ADVISORY,
            "no-bucket-admin-for-workloads": EnforcementLevel.MANDATORY,
            "no-bucket-admin-for-workloads-advisory": EnforcementLevel.ADVISORY,
            "service-account-role-trust-match": EnforcementLevel.MANDATORY,
        });
    });

    it("reports s3:* in a production stack as a mandatory violation, and nothing in development", async () => {
        const analyze = async (stack: string) => {
            const request = new analyzerPb.AnalyzeRequest();
            request.setType("aws:iam/policy:Policy");
            request.setName("wide");
            request.setUrn(`urn:pulumi:${stack}::ray-s3-access::aws:iam/policy:Policy::wide`);
            request.setProperties(
                Struct.fromJavaScript({ policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }) }),
            );
            request.setOptions(new analyzerPb.AnalyzerResourceOptions());
            const response = await call<any>(client, "analyze", request);
            return response.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), level: d.getEnforcementlevel(), message: d.getMessage() }));
        };
        const prod = await analyze("prod");
        const wildcard = prod.find((d: any) => d.policy === "no-s3-wildcard-in-production");
        assert.ok(wildcard, JSON.stringify(prod));
        assert.equal(wildcard.level, analyzerPb.EnforcementLevel.MANDATORY);
        assert.match(wildcard.message, /grants every S3 action/);
        const dev = await analyze("dev");
        assert.equal(dev.filter((d: any) => d.policy === "no-s3-wildcard-in-production").length, 0);
        assert.ok(
            dev.some((d: any) => d.policy === "no-bucket-admin-for-workloads-advisory"),
            "advisory findings still show in development",
        );
    });
});
