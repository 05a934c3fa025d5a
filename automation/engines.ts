/**
 * Handing a fleet to the engines operators already run: Pulumi Kubernetes Operator v2 objects (a `Stack` per
 * environment and shard, the shard's tenants in a ConfigMap) and a GitHub Actions workflow (a check job, then matrices
 * of `up` per stack). The runner does not schedule a fleet itself; it writes what those engines apply.
 *
 * Facts designed by (PKO v2.9.0 `deploy/crds/pulumi.com_stacks.yaml` and its examples): a Stack's name is at most 42
 * characters (a CEL rule), `configRef` reads a ConfigMap key (`json: true` for structured values, operator >= v2.3 and a
 * Pulumi CLI >= 3.202 in the workspace image), each Stack gets its own workspace pod, whose service account needs
 * `system:auth-delegator`; the operator cannot run policy packs, so `check` gates the objects before they are applied.
 * A ConfigMap holds at most 1 MiB; a GitHub Actions matrix at most 256 jobs.
 */
import { createHash } from "crypto";
import * as yaml from "js-yaml";
import { imageReferenceProblem, namespaceProblem, serviceAccountNameProblem } from "../components/names";
import { AWS_REGION, PARTITIONS } from "../components/validation/values";
import { backendUrlProblem } from "./backends";
import { UsageError } from "./errors";
import { EnvironmentPlan, FleetRecord } from "./fleet";

export const PKO_STACK_NAME_MAX = 42;
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;
export const MATRIX_MAX_JOBS = 256;
/** The first Pulumi CLI whose workspaces take structured config from `configRef` (`json: true`). */
export const DEFAULT_WORKSPACE_IMAGE = "pulumi/pulumi:3.202.0-nonroot";

/** One environment as the emitters need it: its stack file's config (raw YAML values), secrets and plan. */
export interface FleetEnvironment {
    name: string;
    /** `key: value` of the stack file's `config:` block, as YAML gives them (structured values stay structured). */
    config: Record<string, unknown>;
    /** Keys whose values are `secure:` in the stack file (they cannot be copied into another stack). */
    secretKeys: string[];
    /** The stack file's secrets provider, when it names one. */
    secretsProvider?: string;
    /** Tenant entries exactly as the stack file writes them, by namespace. */
    tenants: Map<string, unknown>;
    plan: EnvironmentPlan;
}

export interface PkoOptions {
    namespace: string;
    repo: string;
    branch: string;
    repoDir: string;
    backend?: string;
    secretsProvider?: string;
    /** A Pulumi Cloud organization: stacks are then `ORG/STACK`; without one, a self-managed backend's bare names. */
    org?: string;
    image: string;
    serviceAccount: string;
    /** The IAM role the deployer assumes (IRSA annotation on its ServiceAccount). */
    deployerRoleArn?: string;
    /** A Kubernetes Secret holding PULUMI_CONFIG_PASSPHRASE (key `passphrase`) or PULUMI_ACCESS_TOKEN (key `accessToken`). */
    credentialsSecret?: string;
}

/** A Kubernetes object name (DNS-1123 subdomain) of at most `max` characters; shortened with a hash when needed. */
export function kubernetesObjectName(parts: string[], max = PKO_STACK_NAME_MAX): string {
    const joined = parts
        .join("-")
        .toLowerCase()
        .replace(/[^a-z0-9.-]+/g, "-")
        .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
    if (joined.length <= max) return joined;
    const hash = createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 8);
    return `${joined.slice(0, max - 9).replace(/[^a-z0-9]+$/, "")}-${hash}`;
}

/** The Stack CR name of a Pulumi stack (`ray-s3-access-prod-shard-001`, shortened deterministically). */
export function stackObjectName(stack: string): string {
    return kubernetesObjectName(["ray-s3-access", ...stack.split(/[._]/)]);
}

function qualified(stack: string, org: string | undefined): string {
    return org ? `${org}/${stack}` : stack;
}

/** How a shard stack names its environment stack in a StackReference on this backend. */
function environmentReference(environment: string, org: string | undefined): string {
    return `${org ?? "organization"}/ray-s3-access/${environment}`;
}

const WORKSPACE_RESOURCES = {
    // A TypeScript workspace holds 1.3-2.4 GiB on disk (operator issue #1308); a 200-tenant shard's update peaks near
    // 1 GiB of memory with the AWS and Kubernetes providers.
    requests: { cpu: "500m", memory: "1Gi", "ephemeral-storage": "3Gi" },
    limits: { memory: "2Gi", "ephemeral-storage": "6Gi" },
};

function stackObject(name: string, stack: string, options: PkoOptions, extra: Record<string, unknown>): Record<string, unknown> {
    const spec: Record<string, unknown> = {
        stack: qualified(stack, options.org),
        projectRepo: options.repo,
        branch: options.branch,
        repoDir: options.repoDir,
        serviceAccountName: options.serviceAccount,
        ...(options.backend ? { backend: options.backend } : {}),
        ...(options.secretsProvider ? { secretsProvider: options.secretsProvider } : {}),
        // Deleting a Stack object never destroys what it deployed: destroy is asked for, with `ray-s3-access destroy`.
        destroyOnFinalize: false,
        workspaceReclaimPolicy: "Delete",
        workspaceTemplate: { spec: { image: options.image, resources: WORKSPACE_RESOURCES } },
        ...extra,
    };
    if (options.credentialsSecret) {
        spec.envRefs = {
            [options.org ? "PULUMI_ACCESS_TOKEN" : "PULUMI_CONFIG_PASSPHRASE"]: {
                type: "Secret",
                secret: { name: options.credentialsSecret, key: options.org ? "accessToken" : "passphrase" },
            },
        };
    }
    return {
        apiVersion: "pulumi.com/v1",
        kind: "Stack",
        metadata: {
            name,
            namespace: options.namespace,
            labels: { "app.kubernetes.io/managed-by": "ray-s3-access", "ray-s3-access/stack": stack.replace(/_/g, "-") },
        },
        spec,
    };
}

/** The config of a shard: the environment's (without its tenant list), and the environment stack to read. */
function shardConfig(environment: FleetEnvironment, org: string | undefined): Record<string, unknown> {
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(environment.config)) {
        if (key === "ray-s3-access:tenants" || environment.secretKeys.includes(key)) continue;
        config[key] = value;
    }
    config["ray-s3-access:environmentStack"] = environmentReference(environment.name, org);
    return config;
}

export interface EmittedFile {
    path: string;
    content: string;
}

const dump = (objects: unknown[]) => objects.map((o) => yaml.dump(o, { lineWidth: -1, noRefs: true, sortKeys: false })).join("---\n");

/**
 * The PKO objects of a fleet: `deployer.yaml` (the workspace ServiceAccount, its `system:auth-delegator` binding and
 * the Kubernetes access the program needs), and per environment `ENV.yaml`: its Stack, then per shard a ConfigMap of
 * its tenants and a Stack that reads it and waits for the environment Stack (`prerequisites`).
 */
export function pkoObjects(environments: FleetEnvironment[], options: PkoOptions): EmittedFile[] {
    const problems: string[] = [];
    const deployer = [
        {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: {
                name: options.serviceAccount,
                namespace: options.namespace,
                ...(options.deployerRoleArn ? { annotations: { "eks.amazonaws.com/role-arn": options.deployerRoleArn } } : {}),
            },
        },
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: kubernetesObjectName([options.namespace, options.serviceAccount, "system:auth-delegator"], 253) },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
            subjects: [{ kind: "ServiceAccount", name: options.serviceAccount, namespace: options.namespace }],
        },
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRole",
            metadata: { name: kubernetesObjectName([options.serviceAccount, "workloads"], 253) },
            rules: [
                {
                    apiGroups: [""],
                    resources: ["serviceaccounts", "configmaps", "persistentvolumeclaims", "persistentvolumes"],
                    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
                },
                { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list"] },
                { apiGroups: ["kubeflow.org"], resources: ["profiles"], verbs: ["get", "list", "patch", "update"] },
            ],
        },
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: kubernetesObjectName([options.namespace, options.serviceAccount, "workloads"], 253) },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: kubernetesObjectName([options.serviceAccount, "workloads"], 253) },
            subjects: [{ kind: "ServiceAccount", name: options.serviceAccount, namespace: options.namespace }],
        },
    ];
    const files: EmittedFile[] = [{ path: "deployer.yaml", content: dump(deployer) }];
    const names = new Map<string, string>();
    const claim = (name: string, stack: string) => {
        const other = names.get(name);
        if (other !== undefined && other !== stack) problems.push(`stacks "${other}" and "${stack}" would both be the Stack object "${name}"`);
        names.set(name, stack);
    };
    for (const environment of environments) {
        const secretsProvider = options.secretsProvider ?? environment.secretsProvider;
        const envOptions = { ...options, secretsProvider };
        const envName = stackObjectName(environment.name);
        claim(envName, environment.name);
        const objects: unknown[] = [
            stackObject(envName, environment.name, envOptions, {
                // The environment keeps only the cluster-level pieces; its tenants run in the shard stacks.
                config: { "ray-s3-access:tenantStacks": true },
            }),
        ];
        for (const shard of environment.plan.shards) {
            const name = stackObjectName(shard.stack);
            claim(name, shard.stack);
            // One tenant per line: small, and a diff of the GitOps repository shows which tenants changed.
            const tenants = `[\n${shard.tenants.map((namespace) => JSON.stringify(environment.tenants.get(namespace))).join(",\n")}\n]\n`;
            const bytes = Buffer.byteLength(tenants);
            if (bytes > CONFIGMAP_MAX_BYTES) {
                problems.push(
                    `shard ${shard.stack}: its tenants are ${bytes} bytes, more than a ConfigMap holds (1 MiB): lower --shard-size for new shards, or split the tenants' entries`,
                );
            }
            const configMap = `${name}-tenants`; // a Stack name is at most 42 characters, so this stays a valid object name
            objects.push({
                apiVersion: "v1",
                kind: "ConfigMap",
                metadata: { name: configMap, namespace: options.namespace, labels: { "app.kubernetes.io/managed-by": "ray-s3-access" } },
                data: { "tenants.json": tenants },
            });
            objects.push(
                stackObject(name, shard.stack, envOptions, {
                    config: shardConfig(environment, options.org),
                    configRef: { "ray-s3-access:tenants": { name: configMap, key: "tenants.json", json: true } },
                    prerequisites: [{ name: envName }],
                }),
            );
        }
        if (environment.secretKeys.length > 0) {
            problems.push(
                `environment "${environment.name}": secure config (${environment.secretKeys.join(", ")}) is encrypted for that stack only and cannot be copied into shard stacks: ` +
                    `give it to the workspaces through a Kubernetes Secret (spec.secretsRef) and drop it from Pulumi.${environment.name}.yaml`,
            );
        }
        files.push({ path: `${environment.name}.yaml`, content: dump(objects) });
    }
    if (problems.length > 0)
        throw new UsageError(`fleet emit --engine pko refuses what the operator would refuse:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    return files;
}

/**
 * The project the workspaces run, for the repository directory that holds the stack files: a Pulumi.yaml whose main is
 * the installed package's bundled program (the runner recognises it as the bundled program too), and a package.json
 * that pins this package's version.
 */
export function sourceFiles(version: string): EmittedFile[] {
    const pulumiYaml = yaml.dump(
        {
            name: "ray-s3-access",
            runtime: "nodejs",
            description: "ray-s3-access fleet: the bundled program of the installed package",
            main: "node_modules/ray-s3-access/bin/programs",
        },
        { lineWidth: -1 },
    );
    const packageJson = `${JSON.stringify({ name: "ray-s3-access-fleet", private: true, dependencies: { "ray-s3-access": version } }, null, 2)}\n`;
    return [
        { path: "source/Pulumi.yaml", content: pulumiYaml },
        { path: "source/package.json", content: packageJson },
    ];
}

export interface GithubOptions {
    name: string;
    /** The directory of the stack files in the repository (the jobs' working directory). */
    repoDir: string;
    roleArn: string;
    region: string;
    maxParallel: number;
    branch: string;
}

/** `xs` in chunks of at most `size`. */
function chunks<T>(xs: T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
    return out;
}

/**
 * A GitHub Actions workflow: `check` (the pack gates every stack, and the fleet record must be current), then the
 * environment stacks, then the shard stacks in matrices of at most 256 jobs, each `up --stack S --yes` with one
 * concurrency group per stack and its `--json` summary kept as an artifact.
 */
export function githubWorkflow(record: FleetRecord, environments: string[], options: GithubOptions): EmittedFile {
    const defaults = { run: { "working-directory": options.repoDir } };
    const setup = [
        { uses: "actions/checkout@v4" },
        { uses: "actions/setup-node@v4", with: { "node-version": 20, cache: "npm", "cache-dependency-path": `${options.repoDir}/package-lock.json` } },
        { run: "npm ci" },
    ];
    const credentials = { uses: "aws-actions/configure-aws-credentials@v4", with: { "role-to-assume": options.roleArn, "aws-region": options.region } };
    const deploySteps = [
        ...setup,
        credentials,
        { name: "up", run: 'npx ray-s3-access up --stack "${{ matrix.stack }}" --skip-environment --yes --json > up-summary.json' },
        {
            uses: "actions/upload-artifact@v4",
            if: "always()",
            with: { name: "up-${{ matrix.stack }}", path: `${options.repoDir}/up-summary.json` },
        },
    ];
    const deployJob = (stacks: string[], needs: string[]) => ({
        needs,
        "runs-on": "ubuntu-latest",
        strategy: { "fail-fast": false, "max-parallel": options.maxParallel, matrix: { stack: stacks } },
        // One update of a stack at a time, queued rather than cancelled.
        concurrency: { group: "ray-s3-access-${{ matrix.stack }}", "cancel-in-progress": false },
        defaults,
        steps: deploySteps,
    });
    const jobs: Record<string, unknown> = {
        check: {
            "runs-on": "ubuntu-latest",
            permissions: { contents: "read", "security-events": "write" },
            defaults,
            steps: [
                ...setup,
                { name: "the fleet record is current", run: "npx ray-s3-access fleet plan --check" },
                {
                    name: "the policy pack gates every stack",
                    run: `npx ray-s3-access check ${environments.map((e) => `--stack ${e}`).join(" ")} --shards --sarif ray-s3-access.sarif`,
                },
                {
                    uses: "github/codeql-action/upload-sarif@v3",
                    if: "always() && hashFiles('**/ray-s3-access.sarif') != ''",
                    with: { sarif_file: `${options.repoDir}/ray-s3-access.sarif`, category: "ray-s3-access" },
                },
            ],
        },
    };
    const environmentJobs = chunks(environments, MATRIX_MAX_JOBS).map((stacks, i) => [`environments-${i + 1}`, stacks] as const);
    for (const [id, stacks] of environmentJobs) jobs[id] = deployJob([...stacks], ["check"]);
    const shards = environments.flatMap((e) => record.environments[e]?.shards.map((s) => s.stack) ?? []);
    for (const [i, stacks] of chunks(shards, MATRIX_MAX_JOBS).entries()) {
        jobs[`shards-${i + 1}`] = deployJob(
            stacks,
            environmentJobs.map(([id]) => id),
        );
    }
    const workflow = {
        name: options.name,
        on: { push: { branches: [options.branch], paths: [`${options.repoDir === "." ? "" : `${options.repoDir}/`}**`] }, workflow_dispatch: {} },
        permissions: { contents: "read", "id-token": "write" },
        jobs,
    };
    const file =
        options.name
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "-")
            .replace(/^-|-$/g, "") || "ray-s3-access-fleet";
    return { path: `.github/workflows/${file}.yml`, content: yaml.dump(workflow, { lineWidth: -1, noRefs: true, sortKeys: false }) };
}

/** `fleet emit`'s flags of one engine, with the other engine's equivalent where it has one. */
const ENGINE_FLAGS: Record<"pko" | "github-actions", Record<string, string | undefined>> = {
    pko: {
        repo: undefined,
        namespace: undefined,
        backend: undefined,
        "secrets-provider": undefined,
        org: undefined,
        image: undefined,
        "service-account": undefined,
        "deployer-role-arn": "role-arn",
        "credentials-secret": undefined,
    },
    "github-actions": { "role-arn": "deployer-role-arn", region: undefined, "max-parallel": undefined, name: undefined },
};

const ROLE_ARN = new RegExp(`^arn:(${PARTITIONS}):iam::\\d{12}:role/[\\w+=,.@/-]{1,512}$`);
/** git check-ref-format's rules for a branch name, in short. */
const BRANCH = /^(?!\/|.*\/\/|.*\.\.|.*@\{|.*\.lock$|.*\/$|.*\.$)[^\s~^:?*[\\\x00-\x1f\x7f]+$/;

/**
 * Every problem of `fleet emit`'s flags, before anything is written: names Kubernetes, IAM, git or GitHub would refuse
 * (each naming the flag, the value, the rule and the fix), and a flag of the other engine, which would be ignored.
 * `given` holds the flags whose value differs from their default.
 */
export function emitOptionProblems(engine: "pko" | "github-actions", options: Record<string, unknown>, given: ReadonlySet<string>): string[] {
    const problems: string[] = [];
    const other = engine === "pko" ? "github-actions" : "pko";
    for (const [flag, instead] of Object.entries(ENGINE_FLAGS[other])) {
        if (!given.has(flag)) continue;
        problems.push(`--${flag} is a flag of --engine ${other}, and --engine ${engine} would ignore it${instead ? `: give --${instead}` : ": drop it"}`);
    }
    const text = (flag: string) => (typeof options[flag] === "string" ? (options[flag] as string) : undefined);
    const check = (flag: string, ok: (value: string) => boolean, rule: string) => {
        const value = text(flag);
        if (value !== undefined && !ok(value)) problems.push(`--${flag} "${value}" ${rule}`);
    };
    check("branch", (v) => BRANCH.test(v), 'is not a branch name git takes (git check-ref-format): no spaces, "..", "~^:?*[\\", or a leading or trailing "/"');
    check(
        "repo-dir",
        (v) => !v.startsWith("/") && !v.split("/").includes(".."),
        'must be a directory inside the repository, relative to its root ("." for the root), without ".."',
    );
    if (engine === "pko") {
        const name = (flag: string, problem: (field: string, value: string) => string | undefined) => {
            const value = text(flag);
            const found = value === undefined ? undefined : problem(`--${flag}`, value);
            if (found) problems.push(found);
        };
        name("namespace", namespaceProblem);
        name("service-account", serviceAccountNameProblem);
        name("credentials-secret", (field, value) => serviceAccountNameProblem(field, value)?.replace("ServiceAccount", "Secret"));
        check(
            "deployer-role-arn",
            (v) => ROLE_ARN.test(v),
            "is not an IAM role ARN: give arn:PARTITION:iam::ACCOUNT:role/NAME (the ServiceAccount's IRSA annotation)",
        );
        check(
            "repo",
            (v) => /^(https?|ssh|git):\/\/[^\s/]+\/\S+$|^[\w.-]+@[\w.-]+:\S+$/.test(v),
            "is not a git URL: give https://HOST/OWNER/REPO.git or git@HOST:OWNER/REPO.git",
        );
        name("backend", backendUrlProblem);
        check("org", (v) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v), 'is not a Pulumi organization name (letters, digits, "-", "_" and ".")');
        name("image", imageReferenceProblem);
    } else {
        check(
            "role-arn",
            (v) => ROLE_ARN.test(v),
            "is not an IAM role ARN: give arn:PARTITION:iam::ACCOUNT:role/NAME (the role GitHub's OIDC provider may assume)",
        );
        check("region", (v) => AWS_REGION.test(v), "is not an AWS region: give one such as us-west-2");
        check("name", (v) => v.trim() !== "" && !/[\r\n]/.test(v), "must be one non-empty line (the workflow's name)");
    }
    return problems;
}
