/**
 * `render` and `check`: the program evaluated in-process under the SDK's mock engine (no CLI, no cloud
 * credentials), what it would create, and the policy pack run on it as the policy server would.
 */
import type { Policies, PolicyPackConfig } from "@pulumi/policy";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { EvaluatedResource, evaluatePolicies, Violation } from "../policies/lib/evaluate";
import { runProgram } from "../programs/main";
import { evaluateProgram, RecordedResource } from "./mockEngine";
import { PROJECT, StackTarget, UsageError } from "./stacks";

const COMPONENT_TYPE = "ray-s3-access:index:RayS3Access";

/** What one tenant gets, in the forms a reviewer or a GitOps repository wants. */
export interface TenantDocuments {
    namespace: string;
    component: string;
    roleName?: string;
    trustPolicy?: unknown;
    permissionsPolicy?: unknown;
    /** Kubernetes manifests (ServiceAccount, ServiceAccountPatch, Profile) as objects. */
    manifests: Record<string, unknown>[];
    podIdentityAssociations: { namespace: string; serviceAccount: string; clusterName: string }[];
    setup?: string;
}

export interface RenderedStack {
    stack: string;
    role: StackTarget["role"];
    resources: RecordedResource[];
    outputs: Record<string, unknown>;
    tenants: TenantDocuments[];
}

function parseJson(value: unknown): unknown {
    if (typeof value !== "string") return value;
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

function manifestOf(resource: RecordedResource): Record<string, unknown> | undefined {
    switch (resource.type) {
        case "kubernetes:core/v1:ServiceAccount":
            return { apiVersion: "v1", kind: "ServiceAccount", metadata: resource.inputs.metadata };
        case "kubernetes:core/v1:ServiceAccountPatch":
            return { apiVersion: "v1", kind: "ServiceAccount", metadata: resource.inputs.metadata };
        case "kubernetes:kubeflow.org/v1:Profile":
            return { apiVersion: "kubeflow.org/v1", kind: "Profile", metadata: resource.inputs.metadata, spec: resource.inputs.spec };
        default:
            return undefined;
    }
}

/** Groups a stack's resources by tenant: each RayS3Access and what it (or its namespace) brought. */
function tenantDocuments(resources: RecordedResource[], outputs: Record<string, any>): TenantDocuments[] {
    const tenants: TenantDocuments[] = [];
    for (const component of resources.filter((r) => r.type === COMPONENT_TYPE)) {
        const children = resources.filter((r) => r.parent === component.urn);
        const role = children.find((r) => r.type === "aws:iam/role:Role");
        const policy = children.find((r) => r.type === "aws:iam/policy:Policy");
        // The project's programs name each tenant's component after its namespace.
        const namespace = component.name;
        const profiles = resources.filter((r) => r.type === "kubernetes:kubeflow.org/v1:Profile" && r.inputs.metadata?.name === namespace);
        const perTenantOutputs = outputs?.tenants?.[namespace] ?? (outputs?.namespace === namespace ? outputs : undefined);
        tenants.push({
            namespace,
            component: component.name,
            roleName: role?.outputs.name,
            trustPolicy: parseJson(role?.inputs.assumeRolePolicy),
            permissionsPolicy: parseJson(policy?.inputs.policy),
            manifests: [...children, ...profiles].map(manifestOf).filter((m): m is Record<string, unknown> => m !== undefined),
            podIdentityAssociations: children
                .filter((r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation")
                .map((r) => ({ namespace: r.inputs.namespace, serviceAccount: r.inputs.serviceAccount, clusterName: r.inputs.clusterName })),
            setup: perTenantOutputs?.setup,
        });
    }
    return tenants;
}

export interface OfflineOptions {
    accountId?: string;
}

/**
 * Evaluates the targets in order (environment stacks first, so tenant stacks can read their outputs
 * through StackReference) and returns what each would create.
 */
export async function renderTargets(targets: StackTarget[], options: OfflineOptions = {}): Promise<RenderedStack[]> {
    const stackOutputs: Record<string, Record<string, unknown>> = {};
    const rendered: RenderedStack[] = [];
    for (const target of targets) {
        const evaluated = await evaluateProgram({
            project: PROJECT,
            stack: target.stack,
            config: target.config,
            program: runProgram,
            accountId: options.accountId,
            stackOutputs,
        });
        const outputs = (evaluated.outputs ?? {}) as Record<string, unknown>;
        stackOutputs[`organization/${PROJECT}/${target.stack}`] = outputs;
        rendered.push({
            stack: target.stack,
            role: target.role,
            resources: evaluated.resources,
            outputs,
            tenants: tenantDocuments(evaluated.resources, outputs),
        });
    }
    return rendered;
}

let typeScriptRegistered = false;

/**
 * Loads the rules of a policy pack directory (`DIR/rules` must export `policies`, as this project's does).
 * A pack written in TypeScript is loaded through ts-node when the runner itself runs as compiled JavaScript.
 */
export function loadPolicyPack(cwd: string, dir: string): Policies {
    const rulesPath = path.resolve(cwd, dir, "rules");
    const load = (): { policies?: Policies } => {
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            return require(rulesPath);
        } catch (error) {
            const isTypeScript = fs.existsSync(`${rulesPath}.ts`) || fs.existsSync(path.join(rulesPath, "index.ts"));
            if (!isTypeScript || (error as { code?: string }).code !== "MODULE_NOT_FOUND" || typeScriptRegistered) throw error;
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
            typeScriptRegistered = true;
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            return require(rulesPath);
        }
    };
    let loaded: { policies?: Policies };
    try {
        loaded = load();
    } catch (error) {
        throw new UsageError(
            `--policy-pack ${dir}: cannot load ${rulesPath} (${(error as Error).message.split("\n")[0]}); offline check needs a pack whose rules/index exports \`policies\``,
        );
    }
    if (!Array.isArray(loaded.policies)) {
        throw new UsageError(`--policy-pack ${dir}: ${rulesPath} does not export \`policies\``);
    }
    return loaded.policies;
}

export function loadPolicyConfig(cwd: string, file: string | undefined): PolicyPackConfig {
    if (!file) return {};
    try {
        return JSON.parse(fs.readFileSync(path.resolve(cwd, file), "utf8"));
    } catch (error) {
        throw new UsageError(`--policy-pack-config ${file}: ${(error as Error).message}`);
    }
}

/** The resources as the policy server would receive them. */
export function asPolicyResources(stack: RenderedStack): EvaluatedResource[] {
    return stack.resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: r.custom ? { ...r.inputs, ...r.outputs } : r.inputs,
        dependencies: r.dependencies,
        propertyDependencies: r.propertyDependencies,
        parent: r.parent,
    }));
}

export async function checkStack(stack: RenderedStack, policies: Policies, config: PolicyPackConfig): Promise<Violation[]> {
    return evaluatePolicies(policies, asPolicyResources(stack), { config });
}

/** Writes files a GitOps repository can take: per tenant, the IAM documents and the Kubernetes manifests. */
export function writeRendered(outDir: string, stacks: RenderedStack[]): string[] {
    const written: string[] = [];
    const write = (file: string, content: string) => {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content);
        written.push(file);
    };
    for (const stack of stacks) {
        const stackDir = path.join(outDir, stack.stack);
        write(
            path.join(stackDir, "resources.json"),
            JSON.stringify(
                stack.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs })),
                null,
                2,
            ) + "\n",
        );
        for (const tenant of stack.tenants) {
            const dir = path.join(stackDir, tenant.namespace);
            write(path.join(dir, "trust-policy.json"), JSON.stringify(tenant.trustPolicy, null, 2) + "\n");
            write(path.join(dir, "permissions-policy.json"), JSON.stringify(tenant.permissionsPolicy, null, 2) + "\n");
            if (tenant.manifests.length > 0) {
                write(path.join(dir, "manifests.yaml"), tenant.manifests.map((m) => yaml.dump(m, { noRefs: true })).join("---\n"));
            }
            if (tenant.setup) write(path.join(dir, "skypilot-config.yaml"), tenant.setup);
        }
    }
    return written;
}

/** Human-readable render of one stack. */
export function formatRendered(stack: RenderedStack): string {
    const lines = [`== stack ${stack.stack} (${stack.role}): ${stack.resources.length} resources`];
    for (const resource of stack.resources.filter((r) => !stack.tenants.some((t) => t.component === r.name && r.type === COMPONENT_TYPE))) {
        if (!resource.parent) lines.push(`   ${resource.type} ${resource.name}`);
    }
    for (const tenant of stack.tenants) {
        lines.push("", `-- tenant ${tenant.namespace} (role ${tenant.roleName ?? "?"})`);
        lines.push("trust policy:", JSON.stringify(tenant.trustPolicy, null, 2));
        lines.push("permissions policy:", JSON.stringify(tenant.permissionsPolicy, null, 2));
        for (const association of tenant.podIdentityAssociations) {
            lines.push(`pod identity association: cluster ${association.clusterName}, ${association.namespace}/${association.serviceAccount}`);
        }
        for (const manifest of tenant.manifests) lines.push("---", yaml.dump(manifest, { noRefs: true }).trimEnd());
        if (tenant.setup) lines.push("SkyPilot (~/.sky/config.yaml):", tenant.setup.trimEnd());
    }
    return lines.join("\n");
}
