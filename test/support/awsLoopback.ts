/**
 * AWS's own host names, answered by moto: for clients that take no endpoint override. The AWS SDK for C++ in
 * pyarrow fetches web-identity credentials with its own STS client, which reads neither AWS_ENDPOINT_URL nor
 * AWS_ENDPOINT_URL_STS; a canary pod under test must still reach STS and S3 by their real names.
 *
 * The pod's command runs in a private mount namespace (`unshare -m`, root only) where /etc/hosts maps the names to
 * 127.0.0.1 and the system CA bundle also trusts a CA made for this run. A TLS server on 127.0.0.1:443 with a
 * certificate from that CA passes each request to moto unchanged (Host header included, so moto routes by it).
 * Nothing outside the pod's process sees the names or the CA; the server stops with `stop()`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { MotoServer } from "./moto";

const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export interface AwsLoopback {
    /** The command and arguments that run `command` with AWS's names on loopback. */
    wrap(command: string, args: string[]): [string, string[]];
    /** For boto3, which uses its own CA bundle unless told. */
    env: Record<string, string>;
    stop(): Promise<void>;
}

function run(command: string, args: string[], cwd?: string): string | undefined {
    const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 30_000 });
    return result.status === 0 ? undefined : `${command} ${args[0]}: ${(result.stderr || result.error?.message || "failed").trim().split("\n")[0]}`;
}

/**
 * Starts the server for the STS and S3 names of `region` and the given buckets (their virtual-hosted names), or
 * says why it cannot run here (not root, no `unshare` or `openssl`, port 443 taken).
 */
export async function startAwsLoopback(moto: MotoServer, region: string, buckets: string[]): Promise<AwsLoopback | string> {
    if (process.getuid?.() !== 0) return "a private mount namespace needs root";
    const unshare = run("unshare", ["-m", "true"]);
    if (unshare) return unshare;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ray-s3-aws-loopback-"));
    const names = [
        `sts.${region}.amazonaws.com`,
        "sts.amazonaws.com",
        `s3.${region}.amazonaws.com`,
        "s3.amazonaws.com",
        ...buckets.flatMap((b) => [`${b}.s3.${region}.amazonaws.com`, `${b}.s3.amazonaws.com`]),
    ];
    fs.writeFileSync(path.join(dir, "leaf.cnf"), `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n`);
    const failed =
        run(
            "openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=ray-s3-access test CA"],
            dir,
        ) ??
        run("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", `/CN=${names[0]}`], dir) ??
        run(
            "openssl",
            [
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "leaf.pem",
                "-days",
                "1",
                "-extfile",
                "leaf.cnf",
            ],
            dir,
        );
    if (failed) {
        fs.rmSync(dir, { recursive: true, force: true });
        return failed;
    }
    fs.writeFileSync(path.join(dir, "hosts"), `${fs.readFileSync("/etc/hosts", "utf8")}\n127.0.0.1 ${names.join(" ")}\n`);
    const system = fs.existsSync(SYSTEM_CA_BUNDLE) ? fs.readFileSync(SYSTEM_CA_BUNDLE, "utf8") : "";
    fs.writeFileSync(path.join(dir, "ca-bundle.crt"), `${system}\n${fs.readFileSync(path.join(dir, "ca.pem"), "utf8")}`);

    const target = new URL(moto.endpoint);
    const server = https.createServer(
        { key: fs.readFileSync(path.join(dir, "leaf.key")), cert: fs.readFileSync(path.join(dir, "leaf.pem")) },
        (request, response) => {
            const upstream = http.request(
                { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers, timeout: 30_000 },
                (answer) => {
                    response.writeHead(answer.statusCode ?? 502, answer.headers);
                    answer.pipe(response);
                },
            );
            upstream.on("error", (error) => {
                response.statusCode = 502;
                response.end(String(error));
            });
            request.pipe(upstream);
        },
    );
    const listening = await new Promise<string | undefined>((resolve) => {
        server.once("error", (error) => resolve(`127.0.0.1:443: ${error.message}`));
        server.listen(443, "127.0.0.1", () => resolve(undefined));
    });
    if (listening) {
        fs.rmSync(dir, { recursive: true, force: true });
        return listening;
    }
    const hosts = path.join(dir, "hosts");
    const bundle = path.join(dir, "ca-bundle.crt");
    return {
        wrap: (command, args) => [
            "unshare",
            ["-m", "sh", "-c", `mount --bind "${hosts}" /etc/hosts && mount --bind "${bundle}" "${SYSTEM_CA_BUNDLE}" && exec "$@"`, "pod", command, ...args],
        ],
        env: { AWS_CA_BUNDLE: bundle },
        stop: async () => {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
