#!/usr/bin/env node
/**
 * ray-s3-access: render and check stacks offline, and preview / up / destroy / refresh / outputs them with
 * the Automation API, per environment, per tenant (--per-tenant) or per namespace (--tenant, --discover).
 *
 * Exit codes: 0 success, 1 policy violations or failed stacks, 2 usage or configuration errors.
 */
import * as path from "path";
import yargs, { Argv, CommandModule } from "yargs";
import { Operation, StackDriver, ToolMissingError } from "./driver";
import { checkStack, formatRendered, loadPolicyConfig, loadPolicyPack, renderTargets, writeRendered } from "./offline";
import { exitCodeOf, runOperation, summaryJson, summaryTable } from "./orchestrate";
import { progressFor } from "./progress";
import { selectTargets, StackTarget, UsageError } from "./stacks";
import { CanaryKube, CanarySdk, DEFAULT_CANARY_IMAGE, kubeCanaryClient } from "./canary";
import { assetsIamThrough, DeployedTenant, verifyStack, VerifyClients, VerifyFinding } from "./verify";

/** Lists namespace names matching a label selector (the real one reads the cluster through kubeconfig). */
export type NamespaceLister = (labelSelector: string) => Promise<string[]>;

/** What the commands need from the outside world; tests pass fakes. */
export interface CliContext {
    stdout: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean };
    stderr: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean };
    driver?: (cwd: string) => StackDriver;
    listNamespaces?: NamespaceLister;
    /** AWS and Kubernetes clients for `verify` (default: the AWS SDK's credential chain and kubeconfig). */
    verifyClients?: (region: string) => VerifyClients;
    /** The Kubernetes calls of `verify --canary` (default: kubeconfig). */
    canaryKube?: () => Promise<CanaryKube>;
    /** How often canary Jobs are polled (default 2 s). */
    canaryPollMs?: number;
    /** Aborted on Ctrl-C. */
    signal?: AbortSignal;
    exitCode: number;
}

interface CommonArgs {
    stack?: string[];
    "per-tenant": boolean;
    tenant?: string[];
    json: boolean;
    cwd: string;
    discover?: string;
}

interface PolicyArgs {
    "policy-pack": string;
    "policy-pack-config"?: string;
}

function commonOptions<T>(y: Argv<T>) {
    return y
        .option("stack", { type: "string", array: true, describe: "Stack to run (repeatable); default: every Pulumi.STACK.yaml" })
        .option("per-tenant", { type: "boolean", default: false, describe: "One stack per tenant, named STACK.NAMESPACE" })
        .option("tenant", { type: "string", array: true, describe: "Only these tenants (namespaces; repeatable)" })
        .option("discover", { type: "string", describe: "Only tenants whose namespace exists in the cluster with this label selector (kubeconfig)" })
        .option("json", { type: "boolean", default: false, describe: "Machine-readable output on stdout" })
        .option("cwd", { type: "string", default: ".", describe: "The project directory (Pulumi.yaml)" });
}

function policyOptions<T>(y: Argv<T>) {
    return y
        .option("policy-pack", { type: "string", default: "policies", describe: "Policy pack directory" })
        .option("policy-pack-config", { type: "string", describe: "Policy pack config JSON (per policy: enforcementLevel, productionStacks, exceptions)" });
}

async function defaultListNamespaces(labelSelector: string): Promise<string[]> {
    const k8s = await import("@kubernetes/client-node");
    const config = new k8s.KubeConfig();
    config.loadFromDefault();
    const api = config.makeApiClient(k8s.CoreV1Api);
    const list = await api.listNamespace({ labelSelector });
    return list.items.map((ns) => ns.metadata?.name).filter((name): name is string => typeof name === "string");
}

async function targetsFor(args: CommonArgs, context: CliContext): Promise<StackTarget[]> {
    const cwd = path.resolve(args.cwd);
    let tenants = args.tenant;
    if (args.discover !== undefined) {
        const list = context.listNamespaces ?? defaultListNamespaces;
        let discovered: string[];
        try {
            discovered = await list(args.discover);
        } catch (error) {
            throw new UsageError(`--discover "${args.discover}": cannot list namespaces (${(error as Error).message}); check kubeconfig and the selector`);
        }
        const configured = new Set(selectTargets({ cwd, stacks: args.stack }).flatMap((t) => t.tenants));
        const matched = discovered.filter((ns) => configured.has(ns) && (!tenants || tenants.includes(ns)));
        const unconfigured = discovered.filter((ns) => !configured.has(ns));
        if (unconfigured.length > 0) {
            context.stderr.write(
                `note: namespaces ${unconfigured.join(", ")} match "${args.discover}" but have no tenant entry; add them to ray-s3-access:tenants\n`,
            );
        }
        if (matched.length === 0) {
            throw new UsageError(`--discover "${args.discover}" found no namespace that is a configured tenant (found: ${discovered.join(", ") || "none"})`);
        }
        tenants = matched;
    }
    return selectTargets({ cwd, stacks: args.stack, tenants, perTenant: args["per-tenant"] });
}

function print(stream: CliContext["stdout"], text: string): void {
    stream.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** Runs a handler, mapping errors to exit codes (2 for usage, configuration or missing tools). */
async function guarded(context: CliContext, body: () => Promise<number>): Promise<void> {
    try {
        context.exitCode = await body();
    } catch (error) {
        if (error instanceof UsageError || error instanceof ToolMissingError) {
            print(context.stderr, `error: ${error.message}`);
            context.exitCode = 2;
            return;
        }
        throw error;
    }
}

function renderCommand(context: CliContext): CommandModule<object, CommonArgs & { out?: string; "account-id"?: string }> {
    return {
        command: "render",
        describe: "Print what each stack would create (trust and permission policies, manifests), offline",
        builder: (y) =>
            commonOptions(y)
                .option("out", { type: "string", describe: "Also write the documents and manifests under this directory (for GitOps)" })
                .option("account-id", { type: "string", describe: "AWS account id to show instead of the placeholder 123456789012" }) as any,
        handler: (args) =>
            guarded(context, async () => {
                const rendered = await renderTargets(await targetsFor(args, context), { accountId: args["account-id"] });
                if (args.out) {
                    const written = writeRendered(path.resolve(args.cwd, args.out), rendered);
                    context.stderr.write(`wrote ${written.length} files under ${args.out}\n`);
                }
                if (args.json) {
                    print(
                        context.stdout,
                        JSON.stringify(
                            {
                                stacks: rendered.map((s) => ({
                                    stack: s.stack,
                                    resources: s.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs })),
                                })),
                            },
                            null,
                            2,
                        ),
                    );
                } else {
                    print(context.stdout, rendered.map(formatRendered).join("\n\n"));
                }
                return 0;
            }),
    };
}

function checkCommand(context: CliContext): CommandModule<object, CommonArgs & PolicyArgs & { "account-id"?: string }> {
    return {
        command: "check",
        describe: "Run the policy pack on what each stack would create, offline; exit 1 on a mandatory violation",
        builder: (y) => policyOptions(commonOptions(y)).option("account-id", { type: "string", describe: "AWS account id for the offline evaluation" }) as any,
        handler: (args) =>
            guarded(context, async () => {
                const cwd = path.resolve(args.cwd);
                const policies = loadPolicyPack(cwd, args["policy-pack"]);
                const config = loadPolicyConfig(cwd, args["policy-pack-config"]);
                const rendered = await renderTargets(await targetsFor(args, context), { accountId: args["account-id"] });
                const results = [];
                for (const stack of rendered) {
                    results.push({ stack, violations: await checkStack(stack, policies, config) });
                }
                const mandatory = results.reduce((n, r) => n + r.violations.filter((v) => v.enforcementLevel === "mandatory").length, 0);
                if (args.json) {
                    print(
                        context.stdout,
                        JSON.stringify(
                            {
                                stacks: results.map(({ stack, violations }) => ({
                                    stack: stack.stack,
                                    resources: stack.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs })),
                                    violations,
                                })),
                            },
                            null,
                            2,
                        ),
                    );
                } else {
                    for (const { stack, violations } of results) {
                        print(context.stdout, `stack ${stack.stack}: ${stack.resources.length} resources, ${violations.length} violation(s)`);
                        for (const v of violations) print(context.stdout, `  [${v.enforcementLevel}] ${v.policy}: ${v.message}\n    ${v.urn}`);
                    }
                    print(context.stdout, mandatory === 0 ? "check passed: no mandatory violation" : `check failed: ${mandatory} mandatory violation(s)`);
                }
                return mandatory === 0 ? 0 : 1;
            }),
    };
}

type DeployArgs = CommonArgs & PolicyArgs & { concurrency: number; "fail-fast": boolean; yes: boolean };

function deployCommand(context: CliContext, operation: Operation, describe: string): CommandModule<object, DeployArgs> {
    return {
        command: operation,
        describe,
        builder: (y) =>
            policyOptions(commonOptions(y))
                .option("concurrency", { type: "number", default: 4, describe: "Stacks at once" })
                .option("fail-fast", { type: "boolean", default: false, describe: "Stop starting stacks (and cancel running ones) after the first failure" })
                .option("yes", { type: "boolean", default: false, describe: "Confirm destroy" })
                .check((argv) => {
                    if (!Number.isInteger(argv.concurrency) || (argv.concurrency as number) < 1) {
                        throw new Error(`--concurrency ${argv.concurrency} must be a whole number of at least 1`);
                    }
                    return true;
                }) as any,
        handler: (args) =>
            guarded(context, async () => {
                if (operation === "destroy" && !args.yes) {
                    throw new UsageError("destroy deletes every resource of the selected stacks: re-run with --yes to confirm");
                }
                const cwd = path.resolve(args.cwd);
                const targets = await targetsFor(args, context);
                const driver = context.driver ? context.driver(cwd) : new (await import("./automationDriver")).AutomationDriver({ cwd });
                await driver.prepare(operation, targets);
                const progressStream = (args.json ? context.stderr : context.stdout) as NodeJS.WriteStream;
                const outcomes = await runOperation(driver, operation, targets, {
                    concurrency: args.concurrency,
                    failFast: args["fail-fast"],
                    signal: context.signal ?? new AbortController().signal,
                    policyPacks: [path.resolve(cwd, args["policy-pack"])],
                    policyPackConfigs: args["policy-pack-config"] ? [path.resolve(cwd, args["policy-pack-config"])] : [],
                    progress: progressFor(progressStream),
                });
                if (args.json) {
                    print(context.stdout, JSON.stringify(summaryJson(operation, outcomes), null, 2));
                } else {
                    print(context.stdout, `\n${summaryTable(outcomes)}`);
                    if (operation === "outputs" || operation === "up") {
                        for (const o of outcomes.filter((x) => x.outputs))
                            print(context.stdout, `\n${o.stack} outputs:\n${JSON.stringify(o.outputs, null, 2)}`);
                    }
                }
                return exitCodeOf(outcomes);
            }),
    };
}

async function defaultVerifyClients(region: string): Promise<VerifyClients> {
    const { IAMClient } = await import("@aws-sdk/client-iam");
    const { EKSClient } = await import("@aws-sdk/client-eks");
    const { STSClient } = await import("@aws-sdk/client-sts");
    const k8s = await import("@kubernetes/client-node");
    const kubeconfig = new k8s.KubeConfig();
    kubeconfig.loadFromDefault();
    const core = kubeconfig.makeApiClient(k8s.CoreV1Api);
    return {
        iam: new IAMClient({ region }),
        eks: new EKSClient({ region }),
        region,
        assetsIam: assetsIamThrough(new STSClient({ region }), (credentials) => new IAMClient({ region, credentials })),
        readServiceAccount: async (namespace, name) => {
            try {
                const sa = await core.readNamespacedServiceAccount({ namespace, name });
                return { annotations: sa.metadata?.annotations ?? {} };
            } catch (error) {
                if ((error as { code?: number }).code === 404) return undefined;
                throw error;
            }
        },
    };
}

interface VerifyArgs extends CommonArgs {
    canary: boolean;
    "canary-image": string;
    "canary-sdk": CanarySdk;
    "canary-timeout": number;
    "canary-keep": boolean;
    concurrency: number;
}

function verifyCommand(context: CliContext): CommandModule<object, VerifyArgs> {
    return {
        command: "verify",
        describe: "Check each tenant of the deployed stacks against live AWS and Kubernetes (Pulumi CLI for the outputs); --canary runs a Job per tenant",
        builder: (y) =>
            commonOptions(y)
                .option("canary", {
                    type: "boolean",
                    default: false,
                    describe: "Also run a short Job per tenant, as its service account, that calls sts get-caller-identity and lists its S3 prefixes",
                })
                .option("canary-image", {
                    type: "string",
                    default: DEFAULT_CANARY_IMAGE,
                    describe: "Image of the canary Job: your Ray image (python3 + boto3) or one with the AWS CLI",
                })
                .option("canary-sdk", {
                    choices: ["auto", "python", "cli"] as const,
                    default: "auto" as CanarySdk,
                    describe: "Which SDK the canary uses in the image (auto: boto3 if present, else the AWS CLI)",
                })
                .option("canary-timeout", { type: "number", default: 180, describe: "Seconds a canary Job may run (its activeDeadlineSeconds)" })
                .option("canary-keep", { type: "boolean", default: false, describe: "Keep canary Jobs for inspection (they still expire after 10 minutes)" })
                .option("concurrency", { type: "number", default: 4, describe: "Canary Jobs at once" })
                .check((argv) => {
                    if (!Number.isInteger(argv["canary-timeout"]) || argv["canary-timeout"] < 10)
                        throw new Error(`--canary-timeout ${argv["canary-timeout"]} must be a whole number of seconds, at least 10`);
                    if (!Number.isInteger(argv.concurrency) || argv.concurrency < 1)
                        throw new Error(`--concurrency ${argv.concurrency} must be a whole number of at least 1`);
                    return true;
                }) as any,
        handler: (args) =>
            guarded(context, async () => {
                const cwd = path.resolve(args.cwd);
                const targets = (await targetsFor(args, context)).filter((t) => t.role === "environment" && !t.parsed.tenantStacks);
                if (targets.length === 0) throw new UsageError("verify runs on environment stacks (not with --per-tenant)");
                const driver = context.driver ? context.driver(cwd) : new (await import("./automationDriver")).AutomationDriver({ cwd });
                await driver.prepare("outputs", targets);
                const kube = args.canary ? await (context.canaryKube ?? kubeCanaryClient)() : undefined;
                const findings: VerifyFinding[] = [];
                // One set of clients (and one kubeconfig read) per region, whatever the number of stacks.
                const clientsByRegion = new Map<string, Promise<VerifyClients>>();
                const clientsFor = (region: string): Promise<VerifyClients> => {
                    if (!clientsByRegion.has(region)) {
                        clientsByRegion.set(region, context.verifyClients ? Promise.resolve(context.verifyClients(region)) : defaultVerifyClients(region));
                    }
                    return clientsByRegion.get(region)!;
                };
                for (const target of targets) {
                    const { outputs } = await driver.run({
                        operation: "outputs",
                        target,
                        policyPacks: [],
                        policyPackConfigs: [],
                        onOutput: () => undefined,
                        signal: context.signal ?? new AbortController().signal,
                    });
                    const region = target.config["aws:region"] ?? process.env.AWS_REGION ?? "us-west-2";
                    const clients: VerifyClients = { region, ...(await clientsFor(region)) };
                    if (kube) {
                        clients.canary = {
                            kube,
                            options: {
                                image: args["canary-image"],
                                sdk: args["canary-sdk"],
                                timeoutSeconds: args["canary-timeout"],
                                keep: args["canary-keep"],
                                pollMs: context.canaryPollMs,
                            },
                            signal: context.signal,
                        };
                    }
                    const tenants = ((outputs ?? {}) as { tenants?: Record<string, DeployedTenant> }).tenants ?? {};
                    const selected = { ...target.parsed, tenants: target.parsed.tenants.filter((t) => target.tenants.includes(t.namespace)) };
                    findings.push(...(await verifyStack(target.stack, selected, tenants, clients, { canaryConcurrency: args.concurrency })));
                }
                const failed = findings.filter((f) => !f.ok);
                if (args.json) {
                    print(context.stdout, JSON.stringify({ findings, failed: failed.length }, null, 2));
                } else {
                    for (const f of findings)
                        print(
                            context.stdout,
                            `${f.ok ? "ok  " : "FAIL"} ${f.stack}/${f.tenant} ${f.check}: ${f.message}${f.fix ? `\n     fix: ${f.fix}` : ""}`,
                        );
                    print(context.stdout, failed.length === 0 ? "verify passed" : `verify failed: ${failed.length} check(s)`);
                }
                return failed.length === 0 ? 0 : 1;
            }),
    };
}

/** The parser, with every command bound to `context`. */
export function buildParser(context: CliContext): Argv {
    return yargs()
        .scriptName("ray-s3-access")
        .command(renderCommand(context))
        .command(checkCommand(context))
        .command(deployCommand(context, "preview", "Preview stacks with the policy pack (Pulumi CLI)"))
        .command(deployCommand(context, "up", "Deploy stacks with the policy pack (Pulumi CLI)"))
        .command(deployCommand(context, "destroy", "Destroy stacks, tenants before their environment (Pulumi CLI); needs --yes"))
        .command(deployCommand(context, "refresh", "Refresh stacks' state from the cloud (Pulumi CLI)"))
        .command(deployCommand(context, "outputs", "Print stacks' outputs (Pulumi CLI)"))
        .command(verifyCommand(context))
        .demandCommand(1, "give a command: render, check, preview, up, destroy, refresh, outputs or verify")
        .recommendCommands()
        .strict()
        .help()
        .exitProcess(false)
        .fail((message, error) => {
            throw error ?? new UsageError(message);
        });
}

/** Runs the CLI on `argv` and returns the exit code. */
export async function main(argv: string[], context: Omit<CliContext, "exitCode">): Promise<number> {
    const ctx: CliContext = { ...context, exitCode: 0 };
    try {
        await buildParser(ctx).parseAsync(argv);
    } catch (error) {
        print(ctx.stderr, `error: ${(error as Error).message}`);
        return error instanceof UsageError ||
            /Unknown argument|Not enough|must be|Missing required|Unknown command|Did you mean/i.test(String((error as Error).message))
            ? 2
            : 1;
    }
    return ctx.exitCode;
}

if (require.main === module) {
    const controller = new AbortController();
    let interrupts = 0;
    process.on("SIGINT", () => {
        interrupts++;
        if (interrupts === 1) {
            process.stderr.write("\ncancelling running updates (they stop and release their locks); Ctrl-C again to quit at once\n");
            controller.abort();
        } else {
            process.exit(130);
        }
    });
    main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal }).then((code) => {
        process.exitCode = code;
    });
}
