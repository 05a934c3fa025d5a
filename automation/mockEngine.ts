/**
 * Runs a Pulumi program in-process under the SDK's mock engine: no Pulumi CLI, no cloud credentials. Records
 * every resource the program registers (type, name, URN, parent, dependencies, inputs, and the outputs a
 * provider would plausibly return), which is what `render` prints and `check` runs the policy pack on.
 *
 * Provider-computed values are placeholders: account 123456789012 (unless `accountId` is given) and
 * generated physical names, the same way `pulumi preview` cannot know them either.
 */
import type * as PulumiSdk from "@pulumi/pulumi";
import * as path from "path";
import { createHash } from "crypto";
import { regionPartition } from "../components/constants";
import { CancelledError, markAbandoned, ProgramError, startDeadline } from "./errors";

/** The three modules of a Pulumi Node.js SDK the engine drives. */
interface Sdk {
    pulumi: typeof PulumiSdk;
    settings: { waitForRPCs(): Promise<void>; getMonitor(): any };
    rpc: { deserializeProperties(struct: any): Record<string, any> };
}

/**
 * The SDK a program will use: the copy Node.js resolves from `from` (the user's project), so the mocks are set
 * where the program registers its resources even when it has a copy of its own; this package's copy otherwise.
 */
function sdkFor(from?: string): Sdk {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const root = from
        ? path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [from] }))
        : path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    return {
        pulumi: require(root),
        settings: require(path.join(root, "runtime", "settings")),
        rpc: require(path.join(root, "runtime", "rpc")),
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
}

export const PLACEHOLDER_ACCOUNT_ID = "123456789012";

/** How long one stack's evaluation may take unless the caller says (`--timeout`). */
export const DEFAULT_EVALUATION_TIMEOUT_MS = 120_000;

export interface RecordedResource {
    type: string;
    name: string;
    urn: string;
    parent?: string;
    /** `URN::ID` of the explicit provider, if any. */
    provider?: string;
    custom: boolean;
    inputs: Record<string, any>;
    outputs: Record<string, any>;
    /** What a component registered with `registerOutputs` (components only). */
    componentOutputs?: Record<string, any>;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
}

export interface EvaluateProgramOptions {
    project: string;
    stack: string;
    /** Stack config, `namespace:key` to the value as Pulumi stores it (strings; objects as JSON). */
    config: Record<string, string>;
    program: () => unknown;
    accountId?: string;
    /** Keys of `config` that hold secrets (the program sees them as secret). */
    secretKeys?: string[];
    /** Resolve the Pulumi SDK from this directory (the user's project) instead of this package. */
    sdkFrom?: string;
    /** Outputs of other stacks, for StackReferences (`org/project/stack` -> outputs). */
    stackOutputs?: Record<string, Record<string, unknown>>;
    /** Aborted on Ctrl-C: the evaluation stops with a CancelledError. */
    signal?: AbortSignal;
    /** The most time evaluation may take (default `DEFAULT_EVALUATION_TIMEOUT_MS`). */
    timeoutMs?: number;
    /** Told each resource the program registers, by type (progress). */
    onRegister?: (type: string) => void;
}

export interface EvaluatedProgram {
    resources: RecordedResource[];
    outputs: unknown;
}

export function partitionOf(region: string): string {
    return regionPartition(region);
}

/** Outputs a provider would return: ARNs, ids, generated names. */
export function plausibleOutputs(
    type: string,
    name: string,
    inputs: Record<string, any>,
    account: string,
    region: string,
    partition = partitionOf(region),
): Record<string, any> {
    const physical = inputs.name ?? `${name}-${"0a1b2c3"}`;
    switch (type) {
        case "aws:iam/role:Role":
            return { ...inputs, name: physical, arn: `arn:${partition}:iam::${account}:role${inputs.path ?? "/"}${physical}` };
        case "aws:iam/policy:Policy":
            return { ...inputs, name: physical, arn: `arn:${partition}:iam::${account}:policy${inputs.path ?? "/"}${physical}` };
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            return { ...inputs, arn: `arn:${partition}:iam::${account}:oidc-provider/${String(inputs.url ?? "").replace(/^https:\/\//, "")}` };
        case "eks:index:Cluster": {
            // @pulumi/eks's multi-language Cluster: the outputs programs wire into other resources.
            const issuer = `oidc.eks.${region}.amazonaws.com/id/OFFLINE${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`;
            return {
                ...inputs,
                oidcIssuer: issuer,
                oidcProviderUrl: `https://${issuer}`,
                oidcProviderArn: `arn:${partition}:iam::${account}:oidc-provider/${issuer}`,
                kubeconfig: { apiVersion: "v1", kind: "Config", clusters: [] },
                kubeconfigJson: JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [] }),
            };
        }
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2": {
            // Auto-naming: S3 buckets get the resource name and a random suffix (lower case).
            const bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? `${name.toLowerCase()}-`}${"0a1b2c3"}`;
            return { ...inputs, bucket, arn: `arn:${partition}:s3:::${bucket}`, region: inputs.region ?? region };
        }
        case "aws:s3/directoryBucket:DirectoryBucket":
            return { ...inputs, arn: `arn:${partition}:s3express:${region}:${account}:bucket/${inputs.bucket}` };
        case "aws:kms/key:Key": {
            // A key id is a UUID; a stand-in derived from the name, stable between runs.
            const hex = createHash("sha256").update(name).digest("hex");
            const keyId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
            return { ...inputs, keyId, arn: `arn:${partition}:kms:${region}:${account}:key/${keyId}` };
        }
        case "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            return {
                ...inputs,
                associationId: `a-${name}`,
                associationArn: `arn:${partition}:eks:${region}:${account}:podidentityassociation/${inputs.clusterName}/a-${name}`,
                // EKS generates it for associations with a target role (a UUID); a stand-in derived from the name.
                ...(inputs.targetRoleArn ? { externalId: `ext-${name}` } : {}),
            };
        default:
            return { ...inputs };
    }
}

/** Evaluates the program and returns what it registered. Throws the program's first error. */
export async function evaluateProgram(options: EvaluateProgramOptions): Promise<EvaluatedProgram> {
    const account = options.accountId ?? PLACEHOLDER_ACCOUNT_ID;
    const region = options.config["aws:region"] ?? "us-west-2";
    const partition = partitionOf(region);
    const { pulumi, settings, rpc } = sdkFor(options.sdkFrom);
    const byUrn = new Map<string, RecordedResource>();
    const order: string[] = [];

    await pulumi.runtime.setMocks(
        {
            newResource: (args) =>
                args.type === "pulumi:pulumi:StackReference"
                    ? { id: args.name, state: { name: args.name, outputs: options.stackOutputs?.[args.name] ?? {}, secretOutputNames: [] } }
                    : { id: `${args.name}-id`, state: plausibleOutputs(args.type, args.name, args.inputs, account, region) },
            call: (args) => {
                switch (args.token) {
                    case "aws:index/getPartition:getPartition":
                        return { partition, dnsSuffix: partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com", id: partition };
                    case "aws:index/getCallerIdentity:getCallerIdentity":
                        return { accountId: account, arn: `arn:${partition}:iam::${account}:user/offline`, userId: "OFFLINE", id: account };
                    case "aws:index/getRegion:getRegion":
                        return { name: region, region, id: region };
                    case "aws:eks/getCluster:getCluster":
                        return {
                            name: args.inputs.name,
                            arn: `arn:${partition}:eks:${region}:${account}:cluster/${args.inputs.name}`,
                            identities: [
                                { oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/OFFLINE-${String(args.inputs.name).toUpperCase()}` }] },
                            ],
                        };
                    default:
                        return {};
                }
            },
        },
        options.project,
        options.stack,
        false,
    );
    pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);

    // The mock monitor does not hand dependencies to `newResource`; read them off the registration itself.
    const monitor = settings.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    // A program's registrations and the SDK's promise chains can keep the microtask queue busy for minutes; every
    // 100th registration answers through the macrotask queue, so Ctrl-C and the timeout get their turn.
    let registrations = 0;
    monitor.registerResource = (request: any, callback: (error: unknown, response: any) => void) =>
        register(request, (error: unknown, response: any) => {
            if (!error && response) {
                const urn: string = response.getUrn();
                const propertyDependencies: Record<string, string[]> = {};
                request.getPropertydependenciesMap().forEach((deps: any, key: string) => {
                    propertyDependencies[key] = deps.getUrnsList();
                });
                options.onRegister?.(request.getType());
                byUrn.set(urn, {
                    type: request.getType(),
                    name: request.getName(),
                    urn,
                    parent: request.getParent() || undefined,
                    provider: request.getProvider() || undefined,
                    custom: request.getCustom(),
                    inputs: rpc.deserializeProperties(request.getObject()),
                    outputs: rpc.deserializeProperties(response.getObject()),
                    dependencies: request.getDependenciesList(),
                    propertyDependencies,
                });
                order.push(urn);
            }
            if (++registrations % 100 === 0) setImmediate(() => callback(error, response));
            else callback(error, response);
        });

    const registerOutputs = monitor.registerResourceOutputs?.bind(monitor);
    if (registerOutputs) {
        monitor.registerResourceOutputs = (request: any, callback: (error: unknown, response: any) => void) => {
            const resource = byUrn.get(request.getUrn());
            if (resource && !resource.custom) resource.componentOutputs = rpc.deserializeProperties(request.getOutputs());
            return registerOutputs(request, callback);
        };
    }

    // A failed registration never settles the engine's bookkeeping; its error arrives as an unhandled
    // rejection, so it is caught here and ends the evaluation.
    let reject: (error: unknown) => void = () => undefined;
    const failed = new Promise<never>((_, r) => (reject = r));
    let failure: { error: unknown } | undefined;
    const fail = (error: unknown) => {
        failure ??= { error };
        reject(error);
    };
    const onRejection = (reason: unknown) => fail(reason);
    process.on("unhandledRejection", onRejection);
    const timeoutMs = options.timeoutMs ?? DEFAULT_EVALUATION_TIMEOUT_MS;
    const deadline = startDeadline(
        timeoutMs,
        `evaluating stack "${options.stack}" took longer than ${timeoutMs / 1000} s: the program has not finished (an Output or promise that never resolves?); ` +
            `if it is only slow, raise the limit with --timeout SECONDS (the default is 120 s and 20 ms more a tenant of the bundled program)`,
    );
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
        onAbort = () => {
            markAbandoned();
            reject(new CancelledError(`cancelled (Ctrl-C) while evaluating stack "${options.stack}"`));
        };
        if (options.signal?.aborted) onAbort();
        else options.signal?.addEventListener("abort", onAbort, { once: true });
    });
    // The program is the user's: it must not end the runner's process (a check that exits 0 has checked nothing), and
    // what it prints is not the runner's output (`--json` stays parseable), so it goes to stderr.
    // The SDK captures a stack trace for every promise it makes (`debuggablePromise`), which is most of an evaluation's
    // time (4,000 resources: 15 s with V8's default depth, 4.9 s with one frame, and byte-identical renders). The
    // runner prints an error's message, never its trace, so one frame is kept while the program runs.
    // RAY_S3_ACCESS_FULL_TRACES=1 keeps V8's depth, and a failure then carries its whole trace (for debugging a program).
    const fullTraces = process.env.RAY_S3_ACCESS_FULL_TRACES === "1";
    const stackTraceLimit = Error.stackTraceLimit;
    const prepareStackTrace = Error.prepareStackTrace;
    if (!fullTraces) {
        Error.stackTraceLimit = 1;
        // The SDK reads the stack of the Error it makes for every promise at once (`debuggablePromise`): formatting it
        // is still a fifth of an evaluation with one frame, and nothing reads it but a leak report at exit. Those stacks
        // are left empty; any other error's (a program's own) is formatted as V8 does.
        Error.prepareStackTrace = (error: Error, frames: NodeJS.CallSite[]) =>
            frames[0]?.getFunctionName() === "debuggablePromise" ? "" : `${String(error)}${frames.map((frame) => `\n    at ${frame}`).join("")}`;
    }
    const exit = process.exit;
    const stdoutWrite = process.stdout.write;
    process.exit = ((code?: number) => {
        const error = new ProgramError(
            `the program called process.exit(${code ?? ""}) while stack "${options.stack}" was evaluated: nothing was checked; a Pulumi program ends by returning`,
        );
        fail(error);
        throw error;
    }) as typeof process.exit;
    process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
    // An error the program logs (`pulumi.log.error`) fails a run under the CLI: it fails the evaluation too. (An apply
    // that throws arrives as an unhandled rejection, below.)
    const log = pulumi.log as { error: (...args: unknown[]) => Promise<void> };
    const logError = log.error;
    log.error = (message: unknown, ...rest: unknown[]) => {
        fail(new ProgramError(`the program failed while stack "${options.stack}" was evaluated: ${String(message)}`));
        return logError.call(log, message, ...rest);
    };
    try {
        const resolved = await withLocation(fullTraces, () => {
            const outputs = options.program();
            return Promise.race([
                (async () => {
                    const value = await (pulumi.output(outputs as any) as any).promise();
                    await settings.waitForRPCs();
                    // An apply that throws rejects a few turns after the last registration: let those turns pass, so the
                    // failure is seen before anything is reported.
                    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
                    await settings.waitForRPCs();
                    if (failure) throw failure.error;
                    return value;
                })(),
                failed,
                deadline.expired,
                aborted,
            ]);
        });
        return { resources: order.map((urn) => byUrn.get(urn)!), outputs: resolved };
    } finally {
        Error.stackTraceLimit = stackTraceLimit;
        Error.prepareStackTrace = prepareStackTrace;
        process.exit = exit;
        process.stdout.write = stdoutWrite;
        log.error = logError;
        deadline.stop();
        process.removeListener("unhandledRejection", onRejection);
        if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    }
}

/**
 * A program's error names where it was thrown: the one frame kept while the program runs is that place (`at
 * index.js:4:11`), or the package it was thrown in. With full traces, the whole trace follows the message.
 */
async function withLocation<T>(fullTraces: boolean, evaluation: () => Promise<T>): Promise<T> {
    try {
        return await evaluation();
    } catch (error) {
        // The SDK prefixes an error thrown in an apply with each property it passed through, on the same error object
        // (`error serializing property "namespace": error serializing property "metadata": ...`); ours name the
        // component and the field already.
        if (error instanceof Error && isUsageLike(error)) error.message = error.message.replace(/^(error serializing property "[^"]*": )+/, "");
        if (!(error instanceof Error) || error.name === "CancelledError" || error.name === "DeadlineError" || isUsageLike(error)) throw error;
        const frames = (error.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
        if (fullTraces && frames.length > 0) error.message = `${error.message}\n${frames.join("\n")}`;
        else {
            const file = /\(?([^()\s]+):(\d+):(\d+)\)?$/.exec(frames[0]?.trim() ?? "");
            if (file && !error.message.includes(" (at ")) {
                const inPackage = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(file[1]);
                const where = inPackage
                    ? `thrown in ${inPackage[1].replace(/\\/g, "/")}`
                    : `at ${path.relative(process.cwd(), file[1].replace(/^file:\/\//, "")) || file[1]}:${file[2]}:${file[3]}`;
                error.message = `${error.message} (${where}; RAY_S3_ACCESS_FULL_TRACES=1 shows the whole trace)`;
            }
        }
        throw error;
    }
}

function isUsageLike(error: Error): boolean {
    return error.name === "UsageError" || error.name === "RayS3AccessValidationError" || error.name === "StackConfigError";
}
