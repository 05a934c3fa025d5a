/**
 * Starts moto's server (through moto_server.py, which corrects its SigV4 check for queries holding "/") on a free
 * loopback port for one suite, and stops it after.
 * Everything is bounded: the readiness wait, each request, and the server itself, which is killed in
 * `stop()` and, failing that, when the test process exits.
 */
import { ChildProcess, spawn } from "child_process";
import * as net from "net";
import * as path from "path";
import { AttachRolePolicyCommand, CreatePolicyCommand } from "@aws-sdk/client-iam";

export interface MotoServer {
    endpoint: string;
    region: string;
    /** Dummy keys for calls made while authentication is off. */
    credentials: { accessKeyId: string; secretAccessKey: string };
    reset(): Promise<void>;
    /** Turns IAM enforcement on (`true`) or off for every following request. */
    enforceAuth(on: boolean): Promise<void>;
    /** Lets the next `requests` requests through unauthenticated, then enforces IAM. */
    enforceAuthAfter(requests: number): Promise<void>;
    stop(): Promise<void>;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

async function post(url: string, body?: string): Promise<void> {
    const response = await fetch(url, {
        method: "POST",
        headers: body === undefined ? undefined : { "Content-Type": "text/plain" },
        body,
        signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) {
        throw new Error(`moto ${url} answered ${response.status}: ${await response.text()}`);
    }
}

const READY_ATTEMPTS = 150;
const READY_INTERVAL_MS = 200;

/** Starts moto and waits (at most 30 s) until it answers. */
export async function startMoto(): Promise<MotoServer> {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child: ChildProcess = spawn("python3", [path.join(__dirname, "moto_server.py"), "-H", "127.0.0.1", "-p", String(port)], {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, AWS_DEFAULT_REGION: "us-west-2" },
    });
    let stderr = "";
    child.stderr?.on("data", (chunk) => {
        stderr = (stderr + String(chunk)).slice(-4000);
    });
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);

    let ready = false;
    for (let attempt = 0; attempt < READY_ATTEMPTS && child.exitCode === null; attempt++) {
        try {
            const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
            if (response.ok) {
                ready = true;
                break;
            }
        } catch {
            // not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, READY_INTERVAL_MS));
    }
    if (!ready) {
        child.kill("SIGKILL");
        throw new Error(`moto did not start on ${endpoint} (is it installed? \`python3 -m moto.server --help\`): ${stderr.trim() || "no output"}`);
    }

    return {
        endpoint,
        region: "us-west-2",
        credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
        reset: () => post(`${endpoint}/moto-api/reset`),
        enforceAuth: (on: boolean) => post(`${endpoint}/moto-api/reset-auth`, on ? "0" : "inf"),
        enforceAuthAfter: (requests: number) => post(`${endpoint}/moto-api/reset-auth`, String(requests)),
        stop: async () => {
            process.removeListener("exit", killOnExit);
            if (child.exitCode !== null) return;
            const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
            await exited;
            clearTimeout(timer);
        },
    };
}

/** Creates a customer managed policy with the document and attaches it to the role, as `up` leaves a tenant; its ARN. */
export async function attachNewPolicy(
    iam: { send(command: any): Promise<any> },
    roleName: string,
    policyName: string,
    document: object | string,
): Promise<string> {
    const created = await iam.send(
        new CreatePolicyCommand({ PolicyName: policyName, PolicyDocument: typeof document === "string" ? document : JSON.stringify(document) }),
    );
    await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: created.Policy!.Arn! }));
    return created.Policy!.Arn!;
}
