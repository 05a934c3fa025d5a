/**
 * Starts a Node.js policy pack the way the Pulumi CLI's Node.js host does: `@pulumi/pulumi/cmd/run-policy-pack`
 * resolved from the pack's directory, run by node with the pack's directory as cwd and `<engine> .` as
 * arguments (the runner loads the pack's package.json `main`, registering ts-node first as the CLI does). The
 * pack prints its gRPC port; the returned client speaks the analyzer protocol the CLI speaks.
 */
import * as grpc from "@grpc/grpc-js";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";

/* eslint-disable @typescript-eslint/no-require-imports */
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
export const analyzerRpc = require(path.join(pulumiDir, "proto", "analyzer_grpc_pb.js"));
export const analyzerPb = require(path.join(pulumiDir, "proto", "analyzer_pb.js"));
export const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [pulumiDir] }));
export const { Empty } = require(require.resolve("google-protobuf/google/protobuf/empty_pb", { paths: [pulumiDir] }));
/* eslint-enable @typescript-eslint/no-require-imports */

export interface RunningPack {
    client: any;
    process: ChildProcess;
    stop(): void;
}

export async function startPack(packDir: string, timeoutMs = 60_000): Promise<RunningPack> {
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
    // The engine address is only passed through; the pack serves on a port of its own.
    const pack = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: packDir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    pack.stderr!.on("data", (chunk) => (stderr += String(chunk)));
    const timer = setTimeout(() => pack.kill("SIGKILL"), timeoutMs + 5_000);
    const port = await new Promise<string>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`the pack printed no port within ${timeoutMs / 1000} s: ${stderr}`)), timeoutMs);
        pack.stdout!.once("data", (chunk) => {
            clearTimeout(deadline);
            resolve(String(chunk).trim().split("\n")[0]);
        });
        pack.once("exit", (code) => {
            clearTimeout(deadline);
            reject(new Error(`the pack exited with ${code}: ${stderr}`));
        });
    }).catch((error) => {
        clearTimeout(timer);
        pack.kill("SIGKILL");
        throw error;
    });
    if (!/^\d+$/.test(port)) {
        pack.kill("SIGKILL");
        throw new Error(`the pack printed "${port}" instead of a port: ${stderr}`);
    }
    const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return {
        client,
        process: pack,
        stop: () => {
            clearTimeout(timer);
            client.close();
            pack.kill("SIGKILL");
        },
    };
}

export function call<T>(client: any, method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) =>
        client[method](request, { deadline: Date.now() + 30_000 }, (error: Error | null, response: T) => (error ? reject(error) : resolve(response))),
    );
}

/** The rules the pack lists, with their enforcement levels. */
export async function listedPolicies(client: any): Promise<{ name: string; levels: Record<string, number> }> {
    const info = await call<any>(client, "getAnalyzerInfo", new Empty());
    return { name: info.getName(), levels: Object.fromEntries(info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()])) };
}

/** Diagnostics for one resource, as the engine would ask during a preview of `stack`. */
export async function analyze(client: any, stack: string, type: string, name: string, properties: Record<string, unknown>) {
    const request = new analyzerPb.AnalyzeRequest();
    request.setType(type);
    request.setName(name);
    request.setUrn(`urn:pulumi:${stack}::ray-s3-access::${type}::${name}`);
    request.setProperties(Struct.fromJavaScript(properties));
    request.setOptions(new analyzerPb.AnalyzerResourceOptions());
    const response = await call<any>(client, "analyze", request);
    return response.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), level: d.getEnforcementlevel(), message: d.getMessage() })) as {
        policy: string;
        level: number;
        message: string;
    }[];
}
