/**
 * A CanaryKube that runs a canary Job's container command on this machine instead of a cluster, with the
 * environment EKS would give the pod: the IRSA webhook's AWS_ROLE_ARN + token file when the ServiceAccount
 * carries the role annotation, or the Pod Identity agent's container-credentials endpoint (served here on
 * 127.0.0.1 from STS AssumeRole against moto) when an association exists. Nothing from this machine's own
 * AWS configuration leaks in (HOME is a fresh directory, no AWS_* variables are inherited).
 */
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { CanaryJobState, CanaryKube } from "../../automation/verify/canary";
import { AwsLoopback } from "./awsLoopback";
import { MotoServer } from "./moto";

interface LocalJob {
    log: string;
    exitCode?: number;
    /** The signal that ended the process: the Job's deadline (SIGTERM), when it did not finish by itself. */
    signal?: string;
    env: Record<string, string>;
    serviceAccountName: string;
}

export interface LocalCluster {
    /** IRSA: ServiceAccount annotations, by `namespace/name`. */
    annotations?: Record<string, string>;
    /** Pod Identity: the role of the association, by `namespace/name`. */
    associations?: Record<string, string>;
    /**
     * Give a pod with both an annotation and an association both environments (a pod spec that sets the IRSA
     * variables itself). By default the pod gets what the EKS Pod Identity webhook injects: the association's
     * container credentials take precedence, and the web-identity variables are not added.
     */
    bothEnvironments?: boolean;
    /** Commands the "image" lacks: a PATH without python3 (or without aws) is built for the run. */
    hide?: ("python3" | "aws")[];
    /** Where the pod's S3 requests go instead of moto (the S3 Express stand-in, for directory buckets). */
    s3Endpoint?: string;
    /** Extra environment of the "image" (a PYTHONPATH with pyarrow, or a stand-in with its version and call log). */
    imageEnv?: Record<string, string>;
    /**
     * Run the pod where AWS's own host names reach moto (see awsLoopback.ts), with no endpoint variables: for
     * clients that take no endpoint override, as the AWS SDK for C++'s STS client for web identity.
     */
    awsLoopback?: AwsLoopback;
}

export class LocalJobs implements CanaryKube {
    readonly jobs = new Map<string, LocalJob>();
    readonly created: string[] = [];
    readonly deleted: string[] = [];
    private agent?: http.Server;
    private readonly home = LocalJobs.makeHome();

    /** A HOME whose AWS config only makes S3 use path-style addresses (moto on 127.0.0.1 has no bucket subdomains). */
    private static makeHome(): string {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "ray-s3-canary-home-"));
        fs.mkdirSync(path.join(home, ".aws"));
        fs.writeFileSync(path.join(home, ".aws", "config"), "[default]\ns3 =\n    addressing_style = path\n");
        return home;
    }

    constructor(
        private readonly moto: MotoServer,
        private readonly cluster: LocalCluster,
    ) {}

    /**
     * The Pod Identity agent stand-in: gets the association's role credentials from STS when the pod starts
     * and serves them on 127.0.0.1 in the container-credentials format. EKS's agent calls
     * AssumeRoleForPodIdentity as the EKS service; moto would judge the stand-in's AssumeRole against the
     * role's trust (which admits only pods.eks.amazonaws.com), so that one call goes through unauthenticated.
     */
    private async podIdentityAgent(roleArn: string): Promise<string> {
        const sts = new STSClient({ endpoint: this.moto.endpoint, region: this.moto.region, credentials: this.moto.credentials });
        await this.moto.enforceAuthAfter(1);
        const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "eks-pod-identity" }))).Credentials!;
        const body = JSON.stringify({
            AccessKeyId: c.AccessKeyId,
            SecretAccessKey: c.SecretAccessKey,
            Token: c.SessionToken,
            Expiration: c.Expiration!.toISOString(),
        });
        this.agent?.close();
        this.agent = http.createServer((_request, response) => {
            response.setHeader("Content-Type", "application/json");
            response.end(body);
        });
        await new Promise<void>((resolve) => this.agent!.listen(0, "127.0.0.1", resolve));
        return `http://127.0.0.1:${(this.agent.address() as AddressInfo).port}/v1/credentials`;
    }

    private pathWithout(hide: string[]): string {
        if (hide.length === 0) return process.env.PATH ?? "";
        // A bin directory with links to what the image has: sh and its tools, and what is not hidden.
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "ray-s3-canary-bin-"));
        for (const tool of ["sh", "tr", "sed", "python3", "aws", "cat", "env"]) {
            if (hide.includes(tool)) continue;
            for (const dir of (process.env.PATH ?? "").split(":")) {
                const candidate = path.join(dir, tool);
                if (fs.existsSync(candidate)) {
                    fs.symlinkSync(candidate, path.join(bin, tool));
                    break;
                }
            }
        }
        return bin;
    }

    async createJob(namespace: string, job: any): Promise<void> {
        const name: string = job.metadata.name;
        const pod = job.spec.template.spec;
        const container = pod.containers[0];
        const key = `${namespace}/${pod.serviceAccountName}`;
        const env: Record<string, string> = {
            HOME: this.home,
            PATH: this.pathWithout(this.cluster.hide ?? []),
            AWS_REGION: this.moto.region,
            ...(this.cluster.awsLoopback ? this.cluster.awsLoopback.env : { AWS_ENDPOINT_URL: this.moto.endpoint }),
        };
        if (this.cluster.s3Endpoint) env.AWS_ENDPOINT_URL_S3 = this.cluster.s3Endpoint;
        Object.assign(env, this.cluster.imageEnv);
        if (process.env.PYENV_ROOT) env.PYENV_ROOT = process.env.PYENV_ROOT;
        for (const { name: k, value } of container.env) env[k] = value;
        // Pod Identity: the agent's credentials for the association's role (the webhook then injects no web identity).
        const associated = this.cluster.associations?.[key];
        if (associated) {
            const tokenFile = path.join(this.home, `eks-pod-identity-token-${name}`);
            fs.writeFileSync(tokenFile, "pod-identity-token");
            Object.assign(env, {
                AWS_CONTAINER_CREDENTIALS_FULL_URI: await this.podIdentityAgent(associated),
                AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
            });
        }
        // The webhook injects web identity only when no association applies (its buildPodPatchConfig).
        const roleArn = associated && !this.cluster.bothEnvironments ? undefined : this.cluster.annotations?.[key];
        if (roleArn) {
            const tokenFile = path.join(this.home, `token-${name}`);
            fs.writeFileSync(tokenFile, "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl");
            // STS takes AssumeRoleWithWebIdentity unsigned (the token is the proof), and so does moto_server.py.
            Object.assign(env, { AWS_ROLE_ARN: roleArn, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_STS_REGIONAL_ENDPOINTS: "regional" });
        }
        const record: LocalJob = { log: "", env, serviceAccountName: pod.serviceAccountName };
        this.jobs.set(`${namespace}/${name}`, record);
        this.created.push(`${namespace}/${name}`);
        const [entry, ...entryArgs] = container.command as string[];
        const [command, args] = this.cluster.awsLoopback ? this.cluster.awsLoopback.wrap(entry, entryArgs) : [entry, entryArgs];
        const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], timeout: job.spec.activeDeadlineSeconds * 1000 });
        child.stdout.on("data", (chunk) => (record.log += chunk));
        child.stderr.on("data", (chunk) => (record.log += chunk));
        child.on("close", (code, signal) => {
            record.exitCode = code ?? 1;
            record.signal = signal ?? undefined;
        });
    }

    async jobState(namespace: string, name: string): Promise<CanaryJobState> {
        const job = this.jobs.get(`${namespace}/${name}`);
        if (!job) throw new Error(`job ${namespace}/${name} not found`);
        return job.exitCode === undefined ? { finished: false } : { finished: true, succeeded: job.exitCode === 0 };
    }

    async jobLogs(namespace: string, name: string): Promise<string> {
        return this.jobs.get(`${namespace}/${name}`)?.log ?? "";
    }

    async deleteJob(namespace: string, name: string): Promise<void> {
        this.deleted.push(`${namespace}/${name}`);
    }

    close(): void {
        this.agent?.close();
        fs.rmSync(this.home, { recursive: true, force: true });
    }
}
