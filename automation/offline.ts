/**
 * `render` and `check`: the program evaluated in-process under the SDK's mock engine (no CLI, no cloud
 * credentials), what it would create, and the policy pack run on it as the policy server would.
 *
 * The program is the bundled one (stack files only in --cwd) or the user's own (`Pulumi.yaml` there): its
 * `main`, TypeScript loaded as Pulumi's Node.js host loads it. Every resource it registers is reported; the
 * IAM documents are grouped by what was registered: one entry per RayS3Access component with its children and
 * the service accounts its role serves, whatever the component was named.
 */
import type { Policies, PolicyPackConfig } from "@pulumi/policy";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { RAY_S3_ACCESS_TYPE } from "../components/constants";
import { isServiceAccountSubject, shortHash } from "../components/names";
import { allowStatements } from "../policies/lib/documents";
import { EvaluatedResource, evaluatePolicies, Violation } from "./evaluatePolicies";
import { DEFAULT_EVALUATION_TIMEOUT_MS, evaluateProgram, RecordedResource } from "./mockEngine";
import { startDeadline, UsageError } from "./errors";
import { makeDirectory } from "./files";
import { Project } from "./project";
import { offlineConfig, StackTarget, stackFilePath } from "./stacks";
import { registerTypeScript } from "./typescript";

export interface ServiceAccountRef {
    namespace: string;
    name: string;
}

/** What one RayS3Access gives, in the forms a reviewer or a GitOps repository wants. */
export interface RoleDocuments {
    /** The component's name and URN. */
    component: string;
    urn: string;
    roleName?: string;
    trustPolicy?: unknown;
    permissionsPolicy?: unknown;
    /** Every service account the role serves: its ServiceAccounts, Pod Identity associations and trusted IRSA subjects. */
    serviceAccounts: ServiceAccountRef[];
    /** The namespaces of those service accounts (the tenants). */
    namespaces: string[];
    /** Kubernetes objects the component created or that depend on it (a Kubeflow Profile), as manifests. */
    manifests: Record<string, unknown>[];
    podIdentityAssociations: { namespace: string; serviceAccount: string; clusterName: string }[];
    /** Per namespace, what to set in the tenant's platform (SkyPilot's ~/.sky/config.yaml), from the stack outputs. */
    setup: Record<string, string>;
}

export interface RenderedStack {
    stack: string;
    role: StackTarget["role"];
    /** The tenants (namespaces) the stack's config gives it: each must be served by a role the program registered. */
    tenants: string[];
    /** The stack file the stack's config comes from (its environment's, for a tenant stack), when there is one. */
    stackFile?: string;
    /**
     * The stack may register nothing by design: an environment whose tenants run in stacks of their own (it keeps
     * only the cluster-level pieces), or a shard whose tenants were all removed (its update deletes what they had).
     */
    emptyByDesign?: boolean;
    resources: RecordedResource[];
    outputs: Record<string, unknown>;
    roles: RoleDocuments[];
}

function parseJson(value: unknown): unknown {
    if (typeof value !== "string") return value;
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/** A Kubernetes resource's manifest, from its inputs (`kubernetes:core/v1:ServiceAccountPatch` patches a ServiceAccount). */
function manifestOf(resource: RecordedResource): Record<string, unknown> | undefined {
    const match = /^kubernetes:([^:]+):(\w+)$/.exec(resource.type);
    if (!match || resource.type.startsWith("pulumi:providers:")) return undefined;
    const [group, version] = match[1].includes("/") ? match[1].split("/") : ["core", match[1]];
    const kind = match[2].replace(/Patch$/, "");
    const { apiVersion, kind: _kind, ...rest } = resource.inputs;
    const manifest: Record<string, unknown> = { apiVersion: apiVersion ?? (group === "core" ? version : `${group}/${version}`), kind: _kind ?? kind };
    for (const [key, value] of Object.entries(rest)) if (value !== undefined) manifest[key] = value;
    return manifest;
}

/** `system:serviceaccount:NS:NAME` values the trust policy's Allow statements admit on `:sub` (IRSA). */
function trustedSubjects(trust: unknown): ServiceAccountRef[] {
    if (!trust || typeof trust !== "object") return [];
    return allowStatements(trust)
        .flatMap((statement) => statement.conditions.filter((c) => c.key.endsWith(":sub")).flatMap((c) => c.values))
        .filter(isServiceAccountSubject)
        .map((subject) => {
            const [, , namespace, name] = subject.split(":");
            return { namespace, name };
        });
}

/** Groups a stack's resources by RayS3Access component: its children, and what depends on it. */
export function roleDocuments(resources: RecordedResource[], outputs: Record<string, any>): RoleDocuments[] {
    const roles: RoleDocuments[] = [];
    // Indexed once: a stack has thousands of components, and scanning every resource for each is quadratic.
    const childrenOf = new Map<string, RecordedResource[]>();
    const dependentsOf = new Map<string, number[]>();
    resources.forEach((r, index) => {
        if (r.parent !== undefined) {
            if (!childrenOf.has(r.parent)) childrenOf.set(r.parent, []);
            childrenOf.get(r.parent)!.push(r);
        }
        for (const urn of new Set(r.dependencies)) {
            if (!dependentsOf.has(urn)) dependentsOf.set(urn, []);
            dependentsOf.get(urn)!.push(index);
        }
    });
    for (const component of resources.filter((r) => r.type === RAY_S3_ACCESS_TYPE)) {
        const children = childrenOf.get(component.urn) ?? [];
        // `dependsOn: component` reaches the engine as the component's children.
        const family = new Set([component.urn, ...children.map((c) => c.urn)]);
        const dependents = [...new Set([...family].flatMap((urn) => dependentsOf.get(urn) ?? []))]
            .sort((a, b) => a - b)
            .map((index) => resources[index])
            .filter((r) => !family.has(r.urn));
        const role = children.find((r) => r.type === "aws:iam/role:Role");
        const policy = children.find((r) => r.type === "aws:iam/policy:Policy");
        const trustPolicy = parseJson(role?.inputs.assumeRolePolicy);
        const associations = children
            .filter((r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation")
            .map((r) => ({ namespace: r.inputs.namespace, serviceAccount: r.inputs.serviceAccount, clusterName: r.inputs.clusterName }));
        const accounts = new Map<string, ServiceAccountRef>();
        const add = (namespace: unknown, name: unknown) => {
            if (typeof namespace === "string" && typeof name === "string") accounts.set(`${namespace}/${name}`, { namespace, name });
        };
        for (const child of children.filter((r) => /^kubernetes:core\/v1:ServiceAccount(Patch)?$/.test(r.type)))
            add(child.inputs.metadata?.namespace, child.inputs.metadata?.name);
        for (const association of associations) add(association.namespace, association.serviceAccount);
        for (const subject of trustedSubjects(trustPolicy)) add(subject.namespace, subject.name);
        const serviceAccounts = [...accounts.values()];
        const namespaces = [...new Set(serviceAccounts.map((a) => a.namespace))];
        const setup: Record<string, string> = {};
        for (const namespace of namespaces) {
            const value = outputs?.tenants?.[namespace]?.setup ?? (outputs?.namespace === namespace ? outputs?.setup : undefined);
            if (typeof value === "string") setup[namespace] = value;
        }
        roles.push({
            component: component.name,
            urn: component.urn,
            roleName: role?.outputs.name,
            trustPolicy,
            permissionsPolicy: parseJson(policy?.inputs.policy),
            serviceAccounts,
            namespaces,
            manifests: [...children, ...dependents].map(manifestOf).filter((m): m is Record<string, unknown> => m !== undefined),
            podIdentityAssociations: associations,
            setup,
        });
    }
    return roles;
}

export interface OfflineOptions {
    accountId?: string;
    /** The most time one stack's evaluation may take. */
    timeoutMs?: number;
    /** Aborted on Ctrl-C: evaluation stops with a CancelledError before anything is written. */
    signal?: AbortSignal;
    /** Told as stacks start and end and as each RayS3Access registers (the terminal's progress bar). */
    progress?: { stack(name: string): void; tenant(): void; stackDone(): void };
}

/**
 * Re-runs a user's program from scratch: its modules (not packages under node_modules) are dropped from the module
 * cache: those under the project directory, by the path given and by its real path (Node.js keys the cache by real
 * path, so a symlinked checkout would otherwise keep the first stack's modules and every later stack would register
 * nothing), and every module loaded since `baseline` (`main: ../shared/index.js` and what it loads).
 */
function forgetProgramModules(dirs: string[], baseline: ReadonlySet<string>): void {
    const prefixes = dirs.map((dir) => (dir.endsWith(path.sep) ? dir : dir + path.sep));
    for (const file of Object.keys(require.cache)) {
        if (file.split(path.sep).includes("node_modules")) continue;
        if (!baseline.has(file) || prefixes.some((prefix) => file.startsWith(prefix))) delete require.cache[file];
    }
}

/** The program to evaluate: the bundled program, or the user's `main` as Pulumi's Node.js host runs it. */
async function programOf(project: Project): Promise<() => unknown> {
    if (project.mode === "bundled") {
        const { runProgram } = await import("../programs/main");
        return runProgram;
    }
    try {
        require.resolve("@pulumi/pulumi", { paths: [project.dir] });
    } catch {
        throw new UsageError(
            `${project.dir} cannot load @pulumi/pulumi: install the project's dependencies first (npm install), as \`pulumi preview\` needs too`,
        );
    }
    // `.ts` entries resolve only once TypeScript is registered.
    if (project.typescript) registerTypeScript(project.dir);
    let main: string;
    try {
        main = require.resolve(project.main);
    } catch {
        throw new UsageError(
            `Pulumi.yaml's main "${path.relative(project.dir, project.main) || "."}" (${project.main}) has no program: no such file, no index.js / index.ts, and no package.json "main" there; point main at the program's entry file`,
        );
    }
    const baseline = new Set(Object.keys(require.cache));
    return () => {
        forgetProgramModules([project.dir, fs.realpathSync(project.dir), path.dirname(main)], baseline);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const exported = require(main);
        // As the host does: an exported function is the program (its result, awaited, is the stack's outputs).
        return exported instanceof Function ? exported() : exported;
    };
}

/**
 * Evaluates the targets in order (environment stacks first, so tenant stacks can read their outputs
 * through StackReference) and returns what each would create.
 */
export async function renderTargets(project: Project, targets: StackTarget[], options: OfflineOptions = {}): Promise<RenderedStack[]> {
    const program = await programOf(project);
    const stackOutputs: Record<string, Record<string, unknown>> = {};
    const rendered: RenderedStack[] = [];
    const cwd = process.cwd();
    // Programs read files relative to their project directory, as under the CLI.
    if (project.mode === "own") process.chdir(project.dir);
    try {
        for (const target of targets) {
            const { config, secretKeys } = offlineConfig(target.config, target.secrets);
            options.progress?.stack(target.stack);
            const evaluated = await evaluateProgram({
                project: project.name,
                stack: target.stack,
                config,
                secretKeys,
                program,
                accountId: options.accountId,
                stackOutputs,
                sdkFrom: project.mode === "own" ? project.dir : undefined,
                signal: options.signal,
                timeoutMs: options.timeoutMs ?? evaluationDeadlineMs(target.tenants.length),
                onRegister: options.progress && ((type) => type === RAY_S3_ACCESS_TYPE && options.progress!.tenant()),
            }).catch((error: unknown) => {
                // Say which stack (the class, and so the exit code, stays).
                if (error instanceof Error && error.name !== "CancelledError" && !error.message.includes(`"${target.stack}"`))
                    error.message = `stack "${target.stack}": ${error.message}`;
                throw error;
            });
            options.progress?.stackDone();
            const outputs = (evaluated.outputs ?? {}) as Record<string, unknown>;
            stackOutputs[`organization/${project.name}/${target.stack}`] = outputs;
            rendered.push({
                stack: target.stack,
                role: target.role,
                tenants: target.tenants,
                emptyByDesign: target.parsed?.tenantStacks === true || (target.parsed?.environmentStack !== undefined && target.tenants.length === 0),
                stackFile: stackFilePath(project.stackConfigDir, target.environment),
                resources: evaluated.resources,
                outputs,
                roles: roleDocuments(evaluated.resources, outputs),
            });
        }
    } finally {
        process.chdir(cwd);
    }
    return rendered;
}

/**
 * `check` reports only on a stack whose program registered something to check: a program that returned before
 * registering (a condition on config that skipped everything, an early return) would otherwise pass the gate
 * vacuously, and so would a bundled stack whose tenants got no role.
 */
/**
 * A run's stacks together must register something: stacks empty by design (an environment whose tenants run in
 * shards, an emptied shard) pass alone, but a `check` of nothing but those has judged nothing.
 */
export function assertSomethingChecked(stacks: RenderedStack[]): void {
    const registered = (s: RenderedStack) => s.resources.some((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"));
    if (stacks.length > 0 && !stacks.some(registered)) {
        throw new UsageError(
            `stacks ${stacks.map((s) => `"${s.stack}"`).join(", ")} registered no resources (an environment whose tenants run in shards, emptied shards), so there is nothing to check and the run cannot pass; check the shards that hold tenants`,
        );
    }
}

export function assertSomethingToCheck(stack: RenderedStack): void {
    const registered = stack.resources.filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"));
    if (registered.length === 0 && !stack.emptyByDesign) {
        throw new UsageError(
            `stack "${stack.stack}": the program registered no resources, so there is nothing to check and the stack cannot pass; check that its config selects what it should create`,
        );
    }
    const served = new Set(stack.roles.flatMap((role) => role.namespaces));
    const unserved = stack.tenants.filter((namespace) => !served.has(namespace));
    if (unserved.length > 0) {
        throw new UsageError(
            `stack "${stack.stack}": the config lists tenant(s) ${unserved.join(", ")}, but no RayS3Access role the program registered serves them, so nothing checked their access and the stack cannot pass`,
        );
    }
}

/** The resources as the policy server would receive them. */
export function asPolicyResources(stack: Pick<RenderedStack, "resources">): EvaluatedResource[] {
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

/**
 * How long one stack's evaluation may take unless --timeout says: 120 s, and 20 ms more a tenant. Measured on a
 * 2-core machine, the bundled program evaluates about 2.3 ms a tenant (10,000 perTenant tenants: 22.7 s wall,
 * 27 s of CPU), so a large stack gets about ten times what it needs and a program that never finishes still ends.
 */
export function evaluationDeadlineMs(tenants: number): number {
    return DEFAULT_EVALUATION_TIMEOUT_MS + tenants * EVALUATION_MS_PER_TENANT;
}
export const EVALUATION_MS_PER_TENANT = 20;

/** The policy phase's deadline unless --timeout says: 120 s, and 2 ms more a resource. */
export function policyDeadlineMs(resources: number): number {
    return DEFAULT_EVALUATION_TIMEOUT_MS + resources * 2;
}

/**
 * The pack's violations on one stack. A rule that never returns (an async rule of another team's pack waiting on
 * nothing) ends the run at `timeoutMs` with exit 2 naming the stack, instead of hanging the gate.
 */
export async function checkStack(
    stack: RenderedStack,
    policies: Policies,
    config: PolicyPackConfig,
    timeoutMs = policyDeadlineMs(stack.resources.length),
    stackTags: Record<string, string> = {},
): Promise<Violation[]> {
    const deadline = startDeadline(
        timeoutMs,
        `the policy pack's rules did not finish on stack "${stack.stack}" within ${timeoutMs / 1000} s: a rule waits on something that never resolves; fix the pack, or raise the limit with --timeout SECONDS`,
    );
    try {
        return await Promise.race([evaluatePolicies(policies, asPolicyResources(stack), { config, stackTags }), deadline.expired]);
    } finally {
        deadline.stop();
    }
}

/**
 * A resource or stack name as one path segment: never "." or "..", never a separator. A name that had to change gets
 * a hash of the original, so `team/a` and `team_a` never share a directory.
 */
function dirName(name: string): string {
    const safe = name.replace(/[^A-Za-z0-9._-]/g, "_");
    if (safe === name && safe !== "." && safe !== ".." && safe !== "") return safe;
    return `${safe.replace(/^\.+$/, (dots) => "_".repeat(dots.length)) || "_"}-${shortHash(name)}`;
}

/**
 * Refuses two names that would share a directory (after `dirName`, compared without case, since macOS and Windows
 * file systems ignore it): one would overwrite the other.
 */
function assertDistinctDirs(what: string, names: string[]): void {
    const seen = new Map<string, string>();
    for (const name of names) {
        const key = dirName(name).toLowerCase();
        const other = seen.get(key);
        if (other !== undefined && other !== name) {
            throw new UsageError(
                `--out: ${what} "${other}" and "${name}" would be written to one directory (${dirName(name)}) on a case-insensitive file system: rename one`,
            );
        }
        seen.set(key, name);
    }
}

/** A temporary directory `render --out` writes a stack into before renaming it into place. */
const TEMP_DIR = /^\..+\.tmp-\d+$/;

/** The file that marks a directory as written by `render --out`, listing its stacks. */
export const RENDER_MARKER = ".ray-s3-access-render.json";

function fsProblem(what: string, error: unknown): UsageError {
    const e = error as NodeJS.ErrnoException;
    return new UsageError(`--out: cannot ${what} (${e.code ?? e.message}): check the path and its permissions`);
}

/**
 * Writes files a GitOps repository can take: per stack, every resource; per component, the IAM documents and
 * the Kubernetes manifests. Each stack is written into a temporary directory beside its final place and renamed
 * into place once complete, so an error or Ctrl-C leaves the previous render, never a half-written one, and a
 * tenant that is gone leaves no files behind. A directory holding files this command did not write is refused.
 */
export function writeRendered(outDir: string, stacks: RenderedStack[]): string[] {
    const root = path.resolve(outDir);
    const marker = path.join(root, RENDER_MARKER);
    let previous: string[] = [];
    try {
        if (fs.existsSync(root)) {
            if (!fs.statSync(root).isDirectory()) throw new UsageError(`--out ${outDir} is a file: give a directory`);
            // A render killed mid-write (SIGKILL, power loss) leaves its temporary directories: they are ours to remove.
            for (const entry of fs.readdirSync(root).filter((e) => TEMP_DIR.test(e))) fs.rmSync(path.join(root, entry), { recursive: true, force: true });
            const entries = fs.readdirSync(root);
            if (entries.length > 0 && !fs.existsSync(marker)) {
                throw new UsageError(
                    `--out ${outDir} holds files that render did not write (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", ..." : ""}): give an empty directory, or one render wrote before`,
                );
            }
            if (fs.existsSync(marker)) previous = (JSON.parse(fs.readFileSync(marker, "utf8")).stacks as string[]) ?? [];
        }
        makeDirectory(root);
    } catch (error) {
        if (error instanceof UsageError) throw error;
        throw fsProblem(`use ${root}`, error);
    }
    assertDistinctDirs(
        "stacks",
        stacks.map((s) => s.stack),
    );
    for (const stack of stacks)
        assertDistinctDirs(
            `stack ${stack.stack}: components`,
            stack.roles.map((r) => r.component),
        );
    const written: string[] = [];
    for (const stack of stacks) {
        const finalDir = path.join(root, dirName(stack.stack));
        if (path.dirname(finalDir) !== root) throw new UsageError(`stack "${stack.stack}" would be written outside --out ${outDir}`);
        const tempDir = path.join(root, `.${dirName(stack.stack)}.tmp-${process.pid}`);
        const files: string[] = [];
        const write = (relative: string, content: string) => {
            const file = path.join(tempDir, relative);
            makeDirectory(path.dirname(file));
            fs.writeFileSync(file, content);
            files.push(path.join(finalDir, relative));
        };
        try {
            fs.rmSync(tempDir, { recursive: true, force: true });
            write(
                "resources.json",
                JSON.stringify(
                    stack.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs })),
                    null,
                    2,
                ) + "\n",
            );
            for (const role of stack.roles) {
                const dir = dirName(role.component);
                write(
                    path.join(dir, "role.json"),
                    JSON.stringify({ component: role.component, roleName: role.roleName, serviceAccounts: role.serviceAccounts }, null, 2) + "\n",
                );
                write(path.join(dir, "trust-policy.json"), JSON.stringify(role.trustPolicy, null, 2) + "\n");
                write(path.join(dir, "permissions-policy.json"), JSON.stringify(role.permissionsPolicy, null, 2) + "\n");
                if (role.manifests.length > 0) {
                    write(path.join(dir, "manifests.yaml"), role.manifests.map((m) => yaml.dump(m, { noRefs: true })).join("---\n"));
                }
                const setups = Object.entries(role.setup);
                for (const [namespace, setup] of setups) {
                    write(path.join(dir, setups.length === 1 ? "skypilot-config.yaml" : `skypilot-config.${dirName(namespace)}.yaml`), setup);
                }
            }
            fs.rmSync(finalDir, { recursive: true, force: true });
            fs.renameSync(tempDir, finalDir);
        } catch (error) {
            fs.rmSync(tempDir, { recursive: true, force: true });
            throw fsProblem(`write stack ${stack.stack} under ${root}`, error);
        }
        written.push(...files);
    }
    const stacksNow = [...new Set([...previous, ...stacks.map((s) => dirName(s.stack))])].sort();
    try {
        fs.writeFileSync(marker, JSON.stringify({ stacks: stacksNow }, null, 2) + "\n");
    } catch (error) {
        throw fsProblem(`write ${marker}`, error);
    }
    return written;
}

/** The resource tree: every resource the program registered, under its parent. */
function resourceTree(resources: RecordedResource[]): string[] {
    const byParent = new Map<string | undefined, RecordedResource[]>();
    const urns = new Set(resources.map((r) => r.urn));
    for (const resource of resources) {
        const parent = resource.parent && urns.has(resource.parent) ? resource.parent : undefined;
        byParent.set(parent, [...(byParent.get(parent) ?? []), resource]);
    }
    const lines: string[] = [];
    const walk = (parent: string | undefined, depth: number) => {
        for (const resource of byParent.get(parent) ?? []) {
            lines.push(`${"   ".repeat(depth + 1)}${resource.type} ${resource.name}`);
            walk(resource.urn, depth + 1);
        }
    };
    walk(undefined, 0);
    return lines;
}

/** One line: how many resources, and which roles serve which namespaces. */
export function stackSummary(stack: RenderedStack): string {
    const namespaces = [...new Set(stack.roles.flatMap((r) => r.namespaces))];
    const roles = stack.roles.length === 1 ? "1 RayS3Access role" : `${stack.roles.length} RayS3Access roles`;
    const serving = namespaces.length > 0 ? ` serving ${namespaces.length} namespace(s): ${namespaces.join(", ")}` : "";
    return `${stack.stack}: ${stack.resources.length} resources, ${roles}${serving}`;
}

/** Human-readable render of one stack. */
export function formatRendered(stack: RenderedStack): string {
    const lines = [`== stack ${stack.stack} (${stack.role}): ${stack.resources.length} resources`, ...resourceTree(stack.resources)];
    for (const role of stack.roles) {
        const accounts = role.serviceAccounts.map((a) => `${a.namespace}/${a.name}`).join(", ") || "none";
        lines.push("", `-- RayS3Access ${role.component} (role ${role.roleName ?? "?"}): service accounts ${accounts}`);
        lines.push("trust policy:", JSON.stringify(role.trustPolicy, null, 2));
        lines.push("permissions policy:", JSON.stringify(role.permissionsPolicy, null, 2));
        for (const association of role.podIdentityAssociations) {
            lines.push(`pod identity association: cluster ${association.clusterName}, ${association.namespace}/${association.serviceAccount}`);
        }
        for (const manifest of role.manifests) lines.push("---", yaml.dump(manifest, { noRefs: true }).trimEnd());
        for (const [namespace, setup] of Object.entries(role.setup)) lines.push(`SkyPilot (${namespace}, ~/.sky/config.yaml):`, setup.trimEnd());
    }
    return lines.join("\n");
}
