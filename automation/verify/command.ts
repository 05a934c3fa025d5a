/**
 * `verify`: reads each environment stack's outputs through the driver, then checks every tenant against live
 * AWS and Kubernetes (and, with --canary, from inside a pod). One set of clients per region.
 */
import { CanarySdk, DEFAULT_CANARY_IMAGE, kubeCanaryClient } from "./canary";
import type { CliContext } from "../cli";
import type { StackDriver } from "../driver";
import type { StackTarget } from "../stacks";
import { ToolMissingError } from "../errors";
import { deployedTenants, prepareOutputs } from "./deployed";
import { assetsIamThrough, verifyStack, VerifyClients, VerifyFinding } from "./index";

/** What verify reads, for the message that asks for credentials. */
const VERIFY_READS =
    "iam:GetRole, iam:GetPolicy, iam:GetPolicyVersion, iam:ListAttachedRolePolicies, iam:GetOpenIDConnectProvider, " +
    "eks:DescribeCluster, eks:DescribeAddon, eks:ListPodIdentityAssociations, eks:DescribePodIdentityAssociation (ReadOnlyAccess covers them)";

/**
 * The AWS SDK's "no credentials" and "expired credentials" errors, as a message that says how to give verify an
 * identity and which one; undefined for any other error.
 */
export function credentialsProblem(error: unknown, region: string): ToolMissingError | undefined {
    const name = (error as Error)?.name ?? "";
    const message = String((error as Error)?.message ?? error);
    const missing = name === "CredentialsProviderError" || /Could not load credentials from any providers/i.test(message);
    const expired = /ExpiredToken|token has expired|Token is expired|The SSO session .* has expired/i.test(`${name} ${message}`);
    if (!missing && !expired) return undefined;
    return new ToolMissingError(
        `verify needs AWS credentials ${expired ? "that have not expired " : ""}for the account the stacks deploy to (region ${region}), ` +
            `as an identity that may read ${VERIFY_READS}. Give it one: AWS_PROFILE=NAME (a profile from \`aws configure\`), ` +
            `\`aws sso login --profile NAME\` then AWS_PROFILE=NAME (IAM Identity Center), or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY ` +
            `(and AWS_SESSION_TOKEN) in the environment; in CI, the runner's role (GitHub OIDC: aws-actions/configure-aws-credentials). ` +
            `The AWS SDK said: ${message.split("\n")[0]}`,
    );
}

export interface VerifyRunOptions extends Pick<CliContext, "verifyClients" | "canaryKube" | "canaryPollMs" | "signal"> {
    canary?: { image?: string; sdk: CanarySdk; timeoutSeconds: number; keep: boolean };
    concurrency: number;
}

export async function defaultVerifyClients(region: string): Promise<VerifyClients> {
    const { IAMClient } = await import("@aws-sdk/client-iam");
    const { EKSClient } = await import("@aws-sdk/client-eks");
    const { STSClient } = await import("@aws-sdk/client-sts");
    const { S3ControlClient } = await import("@aws-sdk/client-s3-control");
    const { S3Client } = await import("@aws-sdk/client-s3");
    const k8s = await import("@kubernetes/client-node");
    const kubeconfig = new k8s.KubeConfig();
    kubeconfig.loadFromDefault();
    const core = kubeconfig.makeApiClient(k8s.CoreV1Api);
    const eksByRegion = new Map<string, InstanceType<typeof EKSClient>>([[region, new EKSClient({ region })]]);
    const s3controlByRegion = new Map<string, InstanceType<typeof S3ControlClient>>();
    return {
        iam: new IAMClient({ region }),
        s3: new S3Client({ region }),
        eks: eksByRegion.get(region)!,
        // Additional clusters in other regions (additionalClusters[].region).
        eksFor: (other) => {
            if (!eksByRegion.has(other)) eksByRegion.set(other, new EKSClient({ region: other }));
            return eksByRegion.get(other)!;
        },
        region,
        s3controlFor: (other) => {
            if (!s3controlByRegion.has(other)) s3controlByRegion.set(other, new S3ControlClient({ region: other }));
            return s3controlByRegion.get(other)!;
        },
        assetsIam: assetsIamThrough(new STSClient({ region }), (credentials) => new IAMClient({ region, credentials })),
        listPods: async (namespace, serviceAccount) => {
            const pods = await core.listNamespacedPod({ namespace, fieldSelector: `spec.serviceAccountName=${serviceAccount}` });
            return pods.items.map((pod) => ({
                name: pod.metadata?.name ?? "?",
                webIdentity: [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c) =>
                    (c.env ?? []).some((e) => e.name === "AWS_WEB_IDENTITY_TOKEN_FILE"),
                ),
            }));
        },
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

export async function runVerify(
    driver: StackDriver,
    targets: StackTarget[],
    options: VerifyRunOptions,
): Promise<{ findings: VerifyFinding[]; failed: number }> {
    await prepareOutputs(driver, targets, "verify");
    const kube = options.canary ? await (options.canaryKube ?? kubeCanaryClient)() : undefined;
    const findings: VerifyFinding[] = [];
    const clientsByRegion = new Map<string, Promise<VerifyClients>>();
    const clientsFor = (region: string): Promise<VerifyClients> => {
        if (!clientsByRegion.has(region)) {
            clientsByRegion.set(region, options.verifyClients ? Promise.resolve(options.verifyClients(region)) : defaultVerifyClients(region));
        }
        return clientsByRegion.get(region)!;
    };
    const signal = options.signal ?? new AbortController().signal;
    for (const target of targets) {
        const parsed = target.parsed!;
        const tenants = await deployedTenants(driver, target, signal);
        const region = target.config["aws:region"] ?? process.env.AWS_REGION ?? "us-west-2";
        const clients: VerifyClients = { region, ...(await clientsFor(region)) };
        if (kube && options.canary) {
            clients.canary = {
                kube,
                options: {
                    image: options.canary.image ?? DEFAULT_CANARY_IMAGE,
                    sdk: options.canary.sdk,
                    timeoutSeconds: options.canary.timeoutSeconds,
                    keep: options.canary.keep,
                    pollMs: options.canaryPollMs,
                },
                signal: options.signal,
            };
        }
        const selected = { ...parsed, tenants: parsed.tenants.filter((t) => target.tenants.includes(t.namespace)) };
        try {
            findings.push(...(await verifyStack(target.stack, selected, tenants, clients, { canaryConcurrency: options.concurrency })));
        } catch (error) {
            throw credentialsProblem(error, region) ?? error;
        }
    }
    return { findings, failed: findings.filter((f) => !f.ok).length };
}
