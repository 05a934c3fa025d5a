/**
 * The stack configuration of the project's program, validated with zod. Keys mirror RayS3Access's args:
 * cluster-level ones (`ray-s3-access:identity`, `:clusterName`, ...) and `ray-s3-access:tenants`, whose
 * entries may override them. Errors name the stack, the tenant and the field.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DEFAULT_SERVICE_ACCOUNT_NAME } from "../components/constants";
import { kubernetesName, nearestName } from "../components/names";
import { RayS3AccessValidationError } from "../components";
import { checkBeforeRegistration } from "../components/rayS3Access";
import { agentTagsProblem } from "../components/validation";
import { ServiceAccountRef } from "../components/trustPolicy";
import { RayS3AccessArgs } from "../components/types";
import { sharedRoleProblems } from "../components/validation/combinations";
import { AWS_REGION } from "../components/validation/values";

export const CONFIG_NAMESPACE = "ray-s3-access";

const bucket = z
    .object({
        bucket: z.string().min(1),
        kind: z.enum(["generalPurpose", "directory"]).optional(),
        access: z.enum(["read", "readWrite", "mountpoint"]).optional(),
        allowDelete: z.boolean().optional(),
        prefixes: z.array(z.string()).optional(),
        kmsKeyArns: z.array(z.string()).optional(),
        createAccessPoint: z.boolean().optional(),
        accessPointName: z.string().optional(),
        expressCache: z.string().optional(),
    })
    .strict();

const identity = z.enum(["irsa", "podIdentity", "irsaAndPodIdentity"]);

/** Another cluster the role serves (`additionalClusters`); `region` gets it an AWS provider of its own. */
const additionalCluster = z
    .object({
        clusterName: z.string().min(1).optional(),
        oidcProviderArn: z.string().optional(),
        oidcIssuerUrl: z.string().optional(),
        /** The cluster's region, when it is not the stack's `aws:region`. */
        region: z.string().regex(AWS_REGION, "must be an AWS region such as us-east-1").optional(),
    })
    .strict();
export type AdditionalClusterConfig = z.infer<typeof additionalCluster>;

/** IRSA's token options (`webIdentityToken`), as in the component. */
const webIdentityToken = z
    .object({ audience: z.string().optional(), expirationSeconds: z.number().int().optional(), stsRegionalEndpoints: z.boolean().optional() })
    .strict();
const tags = z.record(z.string(), z.string());

/** One tenant: a Ray / KubeRay namespace, a Kubeflow profile, or a SkyPilot namespace. */
export const tenantSchema = z
    .object({
        kind: z.enum(["namespace", "kubeflowProfile", "skypilot"]).default("namespace"),
        namespace: z.string().min(1),
        serviceAccountName: z.string().min(1).optional(),
        manageServiceAccount: z.enum(["create", "patch", "none"]).optional(),
        buckets: z.array(bucket).min(1),
        additionalServiceAccounts: z.array(z.string()).optional(),
        roleName: z.string().optional(),
        rolePath: z.string().optional(),
        permissionsBoundaryArn: z.string().optional(),
        maxSessionDuration: z.number().int().optional(),
        tags: tags.optional(),
        additionalPolicyArns: z.array(z.string()).optional(),
        trustPolicyMaxLength: z.number().int().positive().optional(),
        /**
         * Buckets in another account: a role there that the program assumes to create the assets role
         * (`arn:aws:iam::ASSETS_ACCOUNT:role/NAME`).
         */
        assetsDeployRoleArn: z
            .string()
            .regex(/^arn:[a-z-]+:iam::\d{12}:role\/.+$/, "must be an IAM role ARN, arn:PARTITION:iam::ACCOUNT:role/NAME")
            .optional(),
        assetsExternalId: z.string().min(1).optional(),
        /** Kubeflow: the profile owner's user name (e-mail). */
        owner: z.string().min(1).optional(),
        // Cluster-level overrides.
        identity: identity.optional(),
        clusterName: z.string().optional(),
        oidcProviderArn: z.string().optional(),
        oidcIssuerUrl: z.string().optional(),
        additionalClusters: z.array(additionalCluster).optional(),
        annotateServiceAccount: z.boolean().optional(),
        webIdentityToken: webIdentityToken.optional(),
        disableSessionTags: z.boolean().optional(),
        mountpointVolumes: z.boolean().optional(),
    })
    .strict()
    .superRefine((tenant, ctx) => {
        if (tenant.kind === "kubeflowProfile" && !tenant.owner) {
            ctx.addIssue({ code: "custom", path: ["owner"], message: "a Kubeflow profile needs its owner's user name (e-mail)" });
        }
    });

export type TenantConfig = z.infer<typeof tenantSchema>;

export const stackConfigSchema = z
    .object({
        identity: identity.default("irsa"),
        clusterName: z.string().min(1).optional(),
        oidcProviderArn: z.string().optional(),
        oidcIssuerUrl: z.string().optional(),
        createOidcProvider: z.boolean().default(false),
        additionalClusters: z.array(additionalCluster).optional(),
        annotateServiceAccount: z.boolean().optional(),
        webIdentityToken: webIdentityToken.optional(),
        disableSessionTags: z.boolean().optional(),
        mountpointVolumes: z.boolean().optional(),
        roleSharing: z.enum(["perTenant", "abac", "packed", "sessionPolicy"]).default("perTenant"),
        /**
         * Pod Identity: `require` the eks-pod-identity-agent add-on in every cluster of the stack (checked when the
         * program runs), `create` it (the environment stack adds it to each cluster that has none), or `ignore` it.
         */
        podIdentityAgent: z.enum(["require", "create", "ignore"]).default("require"),
        tags: tags.optional(),
        /** At least one, except in a shard stack whose tenants were all removed (its next update deletes their roles). */
        tenants: z.array(tenantSchema),
        /** Per-tenant stacks: the environment stack (`org/project/stack`) whose outputs they read. */
        environmentStack: z.string().min(1).optional(),
        /** The IAM trust-policy quota packed roles are filled to (characters without white space). */
        trustPolicyMaxLength: z.number().int().min(1).default(2048),
        /** The tenants run in stacks of their own (`ENV.NAMESPACE`): this stack keeps the cluster-level pieces. */
        tenantStacks: z.boolean().default(false),
    })
    .strict();

export type StackConfig = z.infer<typeof stackConfigSchema>;

/** How many problems a config error's message lists; the rest are counted (a mistake copied to 10,000 tenants is one fix). */
export const LISTED_PROBLEMS = 20;

/**
 * A config error: every problem, each naming the stack, the tenant and the field (`problems`; the message lists the
 * first LISTED_PROBLEMS and counts the rest). A `pulumi.RunError`, so the Pulumi CLI prints the message without a
 * stack trace.
 */
export class StackConfigError extends pulumi.RunError {
    constructor(
        readonly stack: string,
        readonly problems: string[],
    ) {
        const listed = problems.slice(0, LISTED_PROBLEMS);
        const more = problems.length - listed.length;
        super(
            `stack "${stack}" has invalid configuration:\n- ${listed.join("\n- ")}${
                more > 0 ? `\n- and ${more} more problem${more === 1 ? "" : "s"} (every one: \`ray-s3-access check --stack ${stack} --json\`)` : ""
            }`,
        );
        this.name = "StackConfigError";
    }
}

export const TOP_LEVEL_KEYS = [
    "identity",
    "clusterName",
    "oidcProviderArn",
    "oidcIssuerUrl",
    "createOidcProvider",
    "additionalClusters",
    "annotateServiceAccount",
    "webIdentityToken",
    "disableSessionTags",
    "mountpointVolumes",
    "roleSharing",
    "podIdentityAgent",
    "tags",
    "tenants",
    "tenant",
    "environmentStack",
    "tenantStacks",
    "trustPolicyMaxLength",
];

/** Keys the runner sets itself (per-tenant stacks); accepted, never suggested. */
const INTERNAL_KEYS = ["tenant", "environmentStack", "tenantStacks"];
const USER_KEYS = TOP_LEVEL_KEYS.filter((k) => !INTERNAL_KEYS.includes(k));

/** ` (did you mean "X"?)` when a known key is a likely typo of `given`. */
function didYouMean(given: string, known: readonly string[], prefix = ""): string {
    const best = nearestName(given, known);
    return best === undefined ? "" : ` (did you mean ${prefix}${best}?)`;
}

/** The keys the schema knows where an unknown key was found: a tenant, one of its buckets, or the top level. */
function knownKeysAt(path: PropertyKey[]): string[] {
    if (path[0] === "tenants" && path.length === 2) return Object.keys(tenantSchema.shape ?? {}).filter((k) => typeof k === "string");
    if (path[0] === "tenants" && path[2] === "buckets" && path.length === 4) return Object.keys(bucket.shape);
    if (path[path.length - 2] === "additionalClusters") return Object.keys(additionalCluster.shape);
    if (path[path.length - 1] === "webIdentityToken") return Object.keys(webIdentityToken.shape);
    return USER_KEYS;
}

/** Raw values as Pulumi stores them: strings, with objects, lists and booleans as JSON. */
export function decodeConfigValue(value: unknown): unknown {
    if (typeof value !== "string") return value;
    const trimmed = value.trim();
    if (trimmed === "true" || trimmed === "false" || /^[[{]/.test(trimmed)) {
        try {
            return JSON.parse(trimmed);
        } catch {
            return value;
        }
    }
    // Only a number's own spelling is a number: "0123" (a cluster name) stays the string it is.
    if (/^-?\d+$/.test(trimmed) && String(Number(trimmed)) === trimmed) return Number(trimmed);
    return value;
}

function describePath(config: Record<string, unknown>, path: PropertyKey[]): string {
    if (path[0] === "tenants" && typeof path[1] === "number") {
        const tenants = config.tenants as { namespace?: unknown }[] | undefined;
        const namespace = tenants?.[path[1]]?.namespace;
        const rest = path
            .slice(2)
            .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
            .join("")
            .replace(/^\./, "");
        return `tenant ${path[1]}${typeof namespace === "string" ? ` ("${namespace}")` : ""}${rest ? ` field ${rest}` : ""}`;
    }
    return `${CONFIG_NAMESPACE}:${path
        .map((p) => (typeof p === "number" ? `[${p}]` : String(p)))
        .join(".")
        .replace(/\.\[/g, "[")}`;
}

/** The component args of each tenant, with cluster-level values filled in. */
export function tenantArgs(config: StackConfig, tenant: TenantConfig, clusterOidcProviderArn?: pulumi.Input<string>): RayS3AccessArgs {
    const tenantIdentity = tenant.identity ?? config.identity;
    const defaults: Record<TenantConfig["kind"], { serviceAccountName: string; manageServiceAccount: "create" | "patch" | "none" }> = {
        namespace: { serviceAccountName: DEFAULT_SERVICE_ACCOUNT_NAME, manageServiceAccount: "create" },
        // Kubeflow's profile controller owns default-editor; its AwsIamForServiceAccount plugin annotates it.
        kubeflowProfile: { serviceAccountName: "default-editor", manageServiceAccount: "none" },
        skypilot: { serviceAccountName: "skypilot-service-account", manageServiceAccount: "create" },
    };
    const irsa = tenantIdentity !== "podIdentity";
    // A tenant in a cluster of its own does not inherit the stack cluster's OIDC provider: it would be trusted from
    // the stack's cluster, which it never listed. Its issuer is looked up from its cluster unless it gives one.
    const ownCluster = tenant.clusterName !== undefined && tenant.clusterName !== config.clusterName;
    const inherits = !ownCluster && tenant.oidcIssuerUrl === undefined;
    const providerArn = irsa ? (tenant.oidcProviderArn ?? (inherits ? (clusterOidcProviderArn ?? config.oidcProviderArn) : undefined)) : undefined;
    const issuerUrl = irsa && !providerArn ? (tenant.oidcIssuerUrl ?? (ownCluster ? undefined : config.oidcIssuerUrl)) : undefined;
    return {
        identity: tenantIdentity,
        clusterName: tenant.clusterName ?? config.clusterName,
        oidcProviderArn: providerArn,
        oidcIssuerUrl: issuerUrl,
        additionalClusters: (tenant.additionalClusters ?? config.additionalClusters)?.map(({ region: _region, ...cluster }) => cluster),
        annotateServiceAccount: tenant.annotateServiceAccount ?? config.annotateServiceAccount,
        webIdentityToken: tenantIdentity === "podIdentity" ? undefined : (tenant.webIdentityToken ?? config.webIdentityToken),
        disableSessionTags: tenantIdentity === "irsa" ? undefined : (tenant.disableSessionTags ?? config.disableSessionTags),
        // "create": the environment program adds the add-on once per cluster (a tenant's component would own it, and
        // removing that tenant would remove every tenant's agent); the components then leave it alone.
        podIdentityAgent: tenantIdentity === "irsa" ? undefined : config.podIdentityAgent === "create" ? "ignore" : config.podIdentityAgent,
        mountpointVolumes: tenant.mountpointVolumes ?? config.mountpointVolumes,
        namespace: tenant.namespace,
        serviceAccountName: tenant.serviceAccountName ?? defaults[tenant.kind].serviceAccountName,
        manageServiceAccount: tenant.manageServiceAccount ?? defaults[tenant.kind].manageServiceAccount,
        buckets: tenant.buckets,
        additionalServiceAccounts: tenant.additionalServiceAccounts,
        roleName: tenant.roleName,
        rolePath: tenant.rolePath,
        permissionsBoundaryArn: tenant.permissionsBoundaryArn,
        maxSessionDuration: tenant.maxSessionDuration,
        tags: config.tags || tenant.tags ? { ...config.tags, ...tenant.tags } : undefined,
        additionalPolicyArns: tenant.additionalPolicyArns,
        trustPolicyMaxLength: tenant.trustPolicyMaxLength,
    };
}

/** The region of each of a tenant's additional clusters (undefined: the stack's), as the component's validation takes them. */
export function clusterRegions(config: StackConfig, tenant: TenantConfig): (string | undefined)[] {
    return (tenant.additionalClusters ?? config.additionalClusters ?? []).map((cluster) => cluster.region);
}

/**
 * A tenant's arguments as role sharing compares them: `tenantArgs`, with each additional cluster's `region` kept (the
 * same cluster name in two regions is two clusters).
 */
export function sharingArgs(config: StackConfig, tenant: TenantConfig): RayS3AccessArgs {
    return { ...tenantArgs(config, tenant), additionalClusters: tenant.additionalClusters ?? config.additionalClusters };
}

/** What roleSharing needs of the tenants; the matrix of mode and option is `SHARING_MATRIX` (components/validation/combinations). */
function sharingProblems(config: StackConfig): string[] {
    const problems: string[] = [];
    const key = `${CONFIG_NAMESPACE}:roleSharing`;
    if (config.roleSharing === "perTenant") return problems;
    if (config.tenantStacks) {
        problems.push(
            `${key} "${config.roleSharing}" shares roles across tenants, so it cannot run with one stack per tenant (--per-tenant) or in a fleet's shard stacks (a shared role would span stacks): use "perTenant"`,
        );
    }
    const wanted = config.roleSharing === "packed" ? "irsa" : "podIdentity";
    config.tenants.forEach((tenant, index) => {
        if ((tenant.identity ?? config.identity) !== wanted) {
            problems.push(`tenant ${index} ("${tenant.namespace}") field identity: ${key} "${config.roleSharing}" needs identity "${wanted}" for every tenant`);
        }
    });
    config.tenants.forEach((tenant, index) => {
        if (tenant.assetsDeployRoleArn) {
            problems.push(`tenant ${index} ("${tenant.namespace}") field assetsDeployRoleArn: cross-account buckets need ${key} "perTenant"`);
        }
    });
    problems.push(
        ...sharedRoleProblems(
            config.roleSharing,
            config.tenants.map((tenant, index) => ({ label: `tenant ${index} ("${tenant.namespace}")`, args: sharingArgs(config, tenant) })),
            key,
        ),
    );
    if (config.roleSharing === "packed" && !config.oidcProviderArn && !config.oidcIssuerUrl) {
        problems.push(`${key} "packed" measures trust policies before deploying: set ${CONFIG_NAMESPACE}:oidcProviderArn or ${CONFIG_NAMESPACE}:oidcIssuerUrl`);
    }
    return problems;
}

/** A stand-in for the OIDC provider the program will create, so tenants validate before it exists. */
const CREATED_PROVIDER_STAND_IN = "arn:aws:iam::000000000000:oidc-provider/oidc.eks.region.amazonaws.com/id/CREATED";

/**
 * Validates a stack's raw config (keys without the `ray-s3-access:` namespace) with the schema and each
 * tenant's args with the component's own rules, and returns the typed config or throws StackConfigError
 * listing every problem. Nothing is created before this passes.
 */
export function parseStackConfig(stack: string, raw: Record<string, unknown>): StackConfig {
    const decoded: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const [key, value] of Object.entries(raw)) {
        const bare = key.startsWith(`${CONFIG_NAMESPACE}:`) ? key.slice(CONFIG_NAMESPACE.length + 1) : key;
        if (key.includes(":") && !key.startsWith(`${CONFIG_NAMESPACE}:`)) continue; // other packages' config (aws:region, ...)
        if (!TOP_LEVEL_KEYS.includes(bare)) {
            problems.push(
                `${CONFIG_NAMESPACE}:${bare} is not a known key${didYouMean(bare, USER_KEYS, `${CONFIG_NAMESPACE}:`)}: use one of ${USER_KEYS.map((k) => `${CONFIG_NAMESPACE}:${k}`).join(", ")}`,
            );
            continue;
        }
        decoded[bare] = decodeConfigValue(value);
    }
    if (decoded.tenant !== undefined && decoded.tenants !== undefined) {
        // Taking either would drop the other's tenants, and an `up` would delete their roles.
        problems.push(
            `${CONFIG_NAMESPACE}:tenant and ${CONFIG_NAMESPACE}:tenants are both set: ${CONFIG_NAMESPACE}:tenant is the one tenant of a per-tenant stack (the runner sets it for STACK.NAMESPACE stacks); list every tenant under ${CONFIG_NAMESPACE}:tenants and drop ${CONFIG_NAMESPACE}:tenant`,
        );
        delete decoded.tenant;
    } else if (decoded.tenant !== undefined) {
        // A per-tenant stack: its one tenant.
        decoded.tenants = [decoded.tenant];
        delete decoded.tenant;
    }
    const parsed = stackConfigSchema.safeParse(decoded, { reportInput: true });
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            if (issue.code === "unrecognized_keys") {
                const known = knownKeysAt(issue.path);
                for (const key of issue.keys) {
                    problems.push(`${describePath(decoded, issue.path)}: unknown key "${key}"${didYouMean(key, known)}; known keys: ${known.join(", ")}`);
                }
                continue;
            }
            if (issue.path.length === 1 && issue.path[0] === "tenants" && decoded.tenants === undefined) {
                problems.push(`${CONFIG_NAMESPACE}:tenants is missing: list the tenants (each a namespace and its buckets) this stack gives S3 access to`);
                continue;
            }
            problems.push(`${describePath(decoded, issue.path)}${shownValue(issue.input)}: ${issue.message}`);
        }
        problems.push(...parsedTenantProblems(decoded, parsed.error.issues));
    }
    // Checked on the raw values too, so they are reported together with the schema's findings.
    if (Array.isArray(decoded.tenants)) {
        const seen = new Map<string, number>();
        decoded.tenants.forEach((tenant: { namespace?: unknown }, index: number) => {
            if (typeof tenant?.namespace !== "string") return;
            if (seen.has(tenant.namespace)) {
                problems.push(
                    `${describePath(decoded, ["tenants", index, "namespace"])}: namespace "${tenant.namespace}" repeats tenants[${seen.get(tenant.namespace)}]: one entry per namespace (list more service accounts in additionalServiceAccounts)`,
                );
            }
            seen.set(tenant.namespace, index);
        });
    }

    if (parsed.success && parsed.data.tenants.length === 0 && parsed.data.environmentStack === undefined) {
        problems.push(`${CONFIG_NAMESPACE}:tenants is empty: list the tenants (each a namespace and its buckets) this stack gives S3 access to`);
    }
    if (problems.length > 0) throw new StackConfigError(stack, byTenant(problems));

    const config = parsed.data!;
    if (raw.podIdentityAgent !== undefined && config.identity === "irsa" && !config.tenants.some((t) => (t.identity ?? "irsa") !== "irsa")) {
        problems.push(
            `${CONFIG_NAMESPACE}:podIdentityAgent is only valid when some tenant uses Pod Identity (${CONFIG_NAMESPACE}:identity "podIdentity" or "irsaAndPodIdentity"): IRSA needs no agent; drop it`,
        );
    }
    if (config.podIdentityAgent === "create") {
        const problem = agentTagsProblem(`${CONFIG_NAMESPACE}:tags`, config.tags);
        if (problem) problems.push(problem);
    }
    if (config.createOidcProvider && config.identity === "podIdentity") {
        problems.push(`${CONFIG_NAMESPACE}:createOidcProvider is only valid when ${CONFIG_NAMESPACE}:identity is "irsa" or "irsaAndPodIdentity"`);
    }
    if (config.createOidcProvider && config.oidcProviderArn) {
        problems.push(`${CONFIG_NAMESPACE}:createOidcProvider and ${CONFIG_NAMESPACE}:oidcProviderArn are both set: drop one`);
    }
    if (config.createOidcProvider && !config.oidcIssuerUrl && !config.clusterName) {
        problems.push(`${CONFIG_NAMESPACE}:createOidcProvider needs ${CONFIG_NAMESPACE}:oidcIssuerUrl or ${CONFIG_NAMESPACE}:clusterName`);
    }
    problems.push(...sharingProblems(config));
    problems.push(...componentProblems(config));
    problems.push(...conflictProblems(config));
    if (problems.length > 0) throw new StackConfigError(stack, byTenant(problems));
    return config;
}

/** The stack's own problems first, then each tenant's together, in the stack file's order (a stable sort). */
function byTenant(problems: string[]): string[] {
    const place = (problem: string) => Number(/^tenant (\d+)/.exec(problem)?.[1] ?? -1);
    return [...problems].sort((a, b) => place(a) - place(b));
}

/** ` ("write")`: the value the schema refused, when it is one a reader can compare with the rule (not a list or a map). */
function shownValue(input: unknown): string {
    if (!["string", "number", "boolean"].includes(typeof input)) return "";
    const shown = JSON.stringify(input);
    return ` (${shown.length > 80 ? `${shown.slice(0, 77)}..."` : shown})`;
}

/**
 * The component's own rules for each tenant of the config: every problem, each naming the tenant by its place in the
 * stack file (`places[i]`, when the config holds only some of the file's tenants).
 */
function componentProblems(config: StackConfig, places: readonly number[] = [...config.tenants.keys()]): string[] {
    const problems: string[] = [];
    for (const [i, tenant] of config.tenants.entries()) {
        const index = places[i];
        try {
            checkBeforeRegistration(tenant.namespace, tenantArgs(config, tenant, config.createOidcProvider ? CREATED_PROVIDER_STAND_IN : undefined), {
                clusterRegions: clusterRegions(config, tenant),
            });
        } catch (error) {
            if (!(error instanceof RayS3AccessValidationError)) throw error;
            for (const problem of error.problems) problems.push(`tenant ${index} ("${tenant.namespace}"): ${problem}`);
        }
    }
    return problems;
}

/**
 * When the schema refused only some tenants' fields, the component's rules still run on the tenants it took, so one
 * pass reports every problem (a wrong type in tenant 3 does not hide a bad bucket name in tenant 7). Nothing when the
 * cluster-level keys themselves are wrong: every tenant's args depend on them.
 */
function parsedTenantProblems(decoded: Record<string, unknown>, issues: readonly z.core.$ZodIssue[]): string[] {
    if (!Array.isArray(decoded.tenants)) return [];
    const refused = new Set<unknown>();
    for (const issue of issues) {
        if (issue.path[0] !== "tenants" || typeof issue.path[1] !== "number") return [];
        refused.add(issue.path[1]);
    }
    const kept = decoded.tenants.map((_, index) => index).filter((index) => !refused.has(index));
    const partial = stackConfigSchema.safeParse({ ...decoded, tenants: kept.map((index) => (decoded.tenants as unknown[])[index]) });
    return partial.success ? componentProblems(partial.data, kept) : [];
}

/** The service accounts a tenant's pods use (its own and its additional ones). */
export function tenantSubjects(config: StackConfig, tenant: TenantConfig): ServiceAccountRef[] {
    const args = tenantArgs(config, tenant);
    const refs: ServiceAccountRef[] = [{ namespace: tenant.namespace, name: String(args.serviceAccountName) }];
    for (const extra of tenant.additionalServiceAccounts ?? []) {
        const [namespace, name] = extra.split(":");
        refs.push({ namespace, name });
    }
    return refs;
}

/**
 * Conflicts between tenants that each tenant alone cannot show: one service account claimed by two tenants (two
 * roles for one ServiceAccount under IRSA; EKS refuses a second association under Pod Identity), and one role
 * name twice.
 */
function conflictProblems(config: StackConfig): string[] {
    const problems: string[] = [];
    const owners = new Map<string, number>();
    const roleNames = new Map<string, number>();
    const accessPoints = new Map<string, number>();
    const volumes = new Map<string, number>();
    const claim = (seen: Map<string, number>, name: string, index: number, where: string, rule: string) => {
        const other = seen.get(name);
        if (other !== undefined && other !== index) {
            problems.push(`${where}: "${name}" is also tenant ${other} ("${config.tenants[other].namespace}")'s: ${rule}`);
        } else seen.set(name, index);
    };
    config.tenants.forEach((tenant, index) => {
        const label = `tenant ${index} ("${tenant.namespace}")`;
        const subjects = tenantSubjects(config, tenant).map((ref) => `${ref.namespace}:${ref.name}`);
        for (const subject of new Set(subjects)) {
            const owner = owners.get(subject);
            if (owner !== undefined) {
                problems.push(
                    `${label}: service account "${subject}" is also tenant ${owner} ("${config.tenants[owner].namespace}")'s: a service account gets one role; ` +
                        `drop it from one tenant (list it in additionalServiceAccounts of the tenant whose buckets it needs)`,
                );
            } else {
                owners.set(subject, index);
            }
        }
        // Names the platform keeps unique: an access point's in the account and region, a PersistentVolume's in the cluster.
        tenant.buckets.forEach((entry, b) => {
            if (entry.accessPointName !== undefined) {
                claim(
                    accessPoints,
                    entry.accessPointName,
                    index,
                    `${label} field buckets[${b}].accessPointName`,
                    "access point names are unique in an account and region",
                );
            }
        });
        if (tenant.mountpointVolumes ?? config.mountpointVolumes) {
            tenant.buckets.forEach((entry, b) => {
                const bucket = entry.bucket.replace(/^arn:[^:]+:s3:::/, "");
                for (const prefix of entry.prefixes && entry.prefixes.length > 0 ? entry.prefixes : [""]) {
                    const volume = `${tenant.namespace}-${kubernetesName(["s3", bucket, prefix])}`;
                    claim(
                        volumes,
                        volume,
                        index,
                        `${label} field buckets[${b}]`,
                        `PersistentVolume names are unique in a cluster (NAMESPACE-CLAIM): rename a namespace or a prefix`,
                    );
                }
            });
        }
        if (typeof tenant.roleName === "string") {
            const other = roleNames.get(tenant.roleName);
            if (other !== undefined) {
                problems.push(
                    `${label} field roleName: "${tenant.roleName}" is also tenant ${other} ("${config.tenants[other].namespace}")'s: role names are unique in an account`,
                );
            } else {
                roleNames.set(tenant.roleName, index);
            }
        }
    });
    return problems;
}
