/**
 * A stand-in for S3 Express One Zone's zonal endpoint (moto has none), on 127.0.0.1: enough of it for the real SDKs'
 * directory-bucket path. `GET /NAME?session` (CreateSession) is decided by the independent IAM evaluator against
 * the role's identity policy: the mode the request asks for (`x-amz-create-session-mode`), or, as S3 does when it
 * asks for none, ReadWrite first and then ReadOnly. `GET /NAME?list-type=2` (ListObjectsV2) answers only with a
 * session token CreateSession issued for that bucket or access point. Everything it decides is recorded.
 */
import { randomBytes } from "crypto";
import * as http from "http";
import { AddressInfo } from "net";
import { identityAllows } from "./iamOracle";

export interface ExpressSession {
    name: string;
    mode: "ReadOnly" | "ReadWrite" | "denied";
}

export interface S3ExpressStandIn {
    endpoint: string;
    /** CreateSession decisions, in order. */
    sessions: ExpressSession[];
    /** ListObjectsV2 calls answered, by bucket or access point name. */
    lists: string[];
    stop(): Promise<void>;
}

const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

/**
 * Starts the stand-in. `policy` is the identity policy of the pods' role, `principal` their session (in the buckets'
 * account); `arnOf` gives the `s3express` ARN IAM sees for a bucket or access point name.
 */
export async function startS3Express(policy: string, principal: string, arnOf: (name: string) => string): Promise<S3ExpressStandIn> {
    const sessions: ExpressSession[] = [];
    const lists: string[] = [];
    const tokens = new Map<string, string>();
    const server = http.createServer((request, response) => {
        const url = new URL(request.url ?? "/", "http://127.0.0.1");
        const name = decodeURIComponent(url.pathname.split("/")[1] ?? "");
        const reply = (status: number, body: string) => {
            response.writeHead(status, { "Content-Type": "application/xml" });
            response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
        };
        const denied = (message: string) => reply(403, `<Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`);
        if (!/--xa?-s3$/.test(name)) return reply(501, `<Error><Code>NotImplemented</Code><Message>only directory buckets here</Message></Error>`);
        if (url.searchParams.has("session")) {
            if (!/^AWS4-HMAC-SHA256 Credential=/.test(String(request.headers.authorization ?? ""))) return denied("CreateSession must be signed");
            const asked = request.headers["x-amz-create-session-mode"];
            const modes = asked === undefined ? (["ReadWrite", "ReadOnly"] as const) : ([String(asked)] as ("ReadOnly" | "ReadWrite")[]);
            void (async () => {
                for (const mode of modes) {
                    if (await identityAllows(policy, "s3express:CreateSession", arnOf(name), { "s3express:SessionMode": mode }, principal)) {
                        const token = randomBytes(16).toString("hex");
                        tokens.set(token, name);
                        sessions.push({ name, mode });
                        const expiration = new Date(Date.now() + 5 * 60_000).toISOString().replace(/\.\d+Z$/, "Z");
                        return reply(
                            200,
                            `<CreateSessionResult xmlns="${XMLNS}"><Credentials><SessionToken>${token}</SessionToken>` +
                                `<SecretAccessKey>${randomBytes(20).toString("hex")}</SecretAccessKey><AccessKeyId>ASIAEXPRESS${token.slice(0, 9).toUpperCase()}</AccessKeyId>` +
                                `<Expiration>${expiration}</Expiration></Credentials></CreateSessionResult>`,
                        );
                    }
                }
                sessions.push({ name, mode: "denied" });
                denied(`not authorized to perform s3express:CreateSession on ${arnOf(name)}`);
            })().catch((error) => reply(500, `<Error><Code>InternalError</Code><Message>${String(error)}</Message></Error>`));
            return;
        }
        if (url.searchParams.get("list-type") === "2") {
            const token = String(request.headers["x-amz-s3session-token"] ?? "");
            if (tokens.get(token) !== name) return denied("no session for this bucket");
            lists.push(name);
            return reply(
                200,
                `<ListBucketResult xmlns="${XMLNS}"><Name>${name}</Name><Prefix>${url.searchParams.get("prefix") ?? ""}</Prefix>` +
                    `<KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`,
            );
        }
        reply(501, `<Error><Code>NotImplemented</Code><Message>${request.method} ${request.url}</Message></Error>`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    // Requests cannot hold the server open past the test: idle sockets close after a second, the server itself
    // never keeps the process alive, and it stops by itself after ten minutes if no test stops it.
    server.keepAliveTimeout = 1000;
    server.unref();
    const lifetime = setTimeout(() => server.close(), 10 * 60_000);
    lifetime.unref();
    return {
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        sessions,
        lists,
        stop: () =>
            new Promise<void>((resolve) => {
                clearTimeout(lifetime);
                server.close(() => resolve());
                server.closeAllConnections();
            }),
    };
}
