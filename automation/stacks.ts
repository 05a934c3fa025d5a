/**
 * Which stacks a command runs: the project's `Pulumi.STACK.yaml` files, and, for the bundled program, with
 * --per-tenant one stack per tenant (`STACK.NAMESPACE`) next to its environment stack.
 */
import * as fs from "fs";
import * as path from "path";
import * as v8 from "v8";
import { CONFIG_NAMESPACE, StackConfig } from "../programs/config";
import { validateStackConfig } from "../programs/stackConfig";
import { UsageError } from "./errors";
import { Project } from "./project";
import type { FleetEnvironment } from "./engines";
import { FLEET_FILE, FleetRecord, parseShardStack, planEnvironment, readFleetRecord } from "./fleet";
import { loadYamlFile } from "./yamlFiles";

export type StackRole = "environment" | "tenant";

/** A secret as the stack file holds it (ciphertext); only the Pulumi CLI can decrypt it. */
export interface SecureValue {
    secure: string;
}

/** What a stack file says besides its config: how its secrets are encrypted. */
export interface StackFileSettings {
    secretsProvider?: string;
    encryptionSalt?: string;
    encryptedKey?: string;
}

/** One stack to render, check or deploy. */
export interface StackTarget {
    stack: string;
    role: StackRole;
    /** The environment stack a tenant stack belongs to (its own name for an environment stack). */
    environment: string;
    /** Config as Pulumi passes it to programs: `namespace:key` -> string (objects and lists as JSON); no secrets. */
    config: Record<string, string>;
    /** The stack file's secrets, still encrypted: the driver hands them to the CLI; offline commands see placeholders. */
    secrets: Record<string, SecureValue>;
    settings: StackFileSettings;
    /** The validated config of the bundled program (absent for a user's own program). */
    parsed?: StackConfig;
    tenants: string[];
    /**
     * A tenant or shard stack: its environment stack, whose outputs it reads. `ray-s3-access:environmentStack` says
     * `organization/PROJECT/STACK` (a DIY backend's name); the driver renames it for the backend in use.
     */
    environmentStackRef?: { project: string; stack: string };
}

/** The value offline evaluation gives a secret it cannot decrypt. */
export const SECRET_PLACEHOLDER = "offline-secret-placeholder";

/** `{ secure: CIPHERTEXT }`, as Pulumi writes an encrypted value, at the top level or nested in structured config. */
function isSecure(value: unknown): value is SecureValue {
    return !!value && typeof value === "object" && !Array.isArray(value) && typeof (value as SecureValue).secure === "string";
}

/**
 * The config as offline evaluation sees it, without the secrets it cannot decrypt: every secure value, at the top
 * level or nested in structured config (the Pulumi CLI decrypts those too), becomes `SECRET_PLACEHOLDER`, and the keys
 * that held one are secret, as the program would see them under the CLI.
 */
export function offlineConfig(config: Record<string, string>, secrets: Record<string, SecureValue>): { config: Record<string, string>; secretKeys: string[] } {
    const result: Record<string, string> = { ...config };
    const secretKeys = new Set(Object.keys(secrets));
    for (const key of secretKeys) result[key] = SECRET_PLACEHOLDER;
    for (const [key, value] of Object.entries(config)) {
        if (!/^\s*[[{]/.test(value) || !value.includes('"secure"')) continue;
        let nested = false;
        let structured: unknown;
        try {
            structured = JSON.parse(value, (_key, v) => {
                if (!isSecure(v)) return v;
                nested = true;
                return SECRET_PLACEHOLDER;
            });
        } catch {
            continue;
        }
        if (!nested) continue;
        result[key] = JSON.stringify(structured);
        secretKeys.add(key);
    }
    return { config: result, secretKeys: [...secretKeys] };
}

/** Stack names that have a Pulumi.NAME.yaml in the directory. */
export function discoverStacks(dir: string): string[] {
    return fs
        .readdirSync(dir)
        .map((file) => /^Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1])
        .filter((name): name is string => name !== undefined)
        .sort();
}

export interface StackFile {
    config: Record<string, string>;
    secrets: Record<string, SecureValue>;
    settings: StackFileSettings;
    /** The file's own config values as YAML gives them (structured values structured; no defaults, no secrets). */
    values: Record<string, unknown>;
}

/** The stack file of a stack (`Pulumi.STACK.yaml`, or `.yml`), or undefined when there is none. */
export function stackFilePath(dir: string, stack: string): string | undefined {
    return ["yaml", "yml"].map((ext) => path.join(dir, `Pulumi.${stack}.${ext}`)).find((f) => fs.existsSync(f));
}

/**
 * A stack file's config block, flattened to how Pulumi passes config to programs: keys without a namespace
 * belong to the project, project-level defaults from Pulumi.yaml apply, secrets are kept apart.
 */
export function readStackFile(project: Pick<Project, "name" | "stackConfigDir" | "defaults">, stack: string): StackFile {
    const dir = project.stackConfigDir;
    const file = stackFilePath(dir, stack);
    if (!file) {
        throw new UsageError(`stack "${stack}" has no Pulumi.${stack}.yaml in ${dir}: create it, or pick one of ${discoverStacks(dir).join(", ") || "(none)"}`);
    }
    const document: any = loadYamlFile(file);
    if (document !== undefined && document !== null && (typeof document !== "object" || Array.isArray(document))) {
        throw new UsageError(`${path.basename(file)} must be a YAML mapping with a \`config:\` block`);
    }
    const block = document?.config ?? {};
    if (typeof block !== "object" || Array.isArray(block)) {
        throw new UsageError(`${path.basename(file)}: \`config\` must be a mapping of keys to values`);
    }
    const config: Record<string, string> = {};
    const secrets: Record<string, SecureValue> = {};
    const values: Record<string, unknown> = {};
    const flatten = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
    for (const [key, value] of Object.entries(project.defaults)) config[key] = flatten(value);
    for (const [rawKey, value] of Object.entries(block as Record<string, unknown>)) {
        const key = rawKey.includes(":") ? rawKey : `${project.name}:${rawKey}`;
        if (value === null && key.startsWith(`${CONFIG_NAMESPACE}:`)) {
            // YAML's `~` or an empty value: taking it as the string "null" would name a cluster "null".
            throw new UsageError(`${path.basename(file)}: ${key} is empty (null): give it a value, or remove the key to use the default`);
        }
        if (isSecure(value)) {
            secrets[key] = { secure: value.secure };
            delete config[key];
            continue;
        }
        config[key] = flatten(value);
        values[key] = value;
    }
    const settings: StackFileSettings = {};
    if (typeof document?.secretsprovider === "string") settings.secretsProvider = document.secretsprovider;
    if (typeof document?.encryptionsalt === "string") settings.encryptionSalt = document.encryptionsalt;
    if (typeof document?.encryptedkey === "string") settings.encryptedKey = document.encryptedkey;
    return { config, secrets, settings, values };
}

/**
 * Memory per tenant when one stack evaluates its tenants, by role sharing, from peak RSS (an upper bound of the heap)
 * of `check` on the bundled program, two buckets a tenant, with a margin (`BENCH_ONLY=scale npm run bench`):
 * perTenant 10,000 tenants 1.9 GiB (0.18 MiB a tenant); packed 20,000 1.7 GiB (0.08); abac 10,000 3.4 GiB (0.33: its
 * one component registers every association).
 */
const HEAP_MIB_PER_TENANT: Record<string, number> = { perTenant: 0.22, abac: 0.35, packed: 0.1 };
const BASE_HEAP_MIB = 150;

/**
 * A stack too large for this process is refused before anything is evaluated (or validated: this reads only
 * the raw tenant count), instead of running out of memory halfway.
 */
function sizeProblem(stack: string, config: Record<string, string>): string | undefined {
    const raw = config[`${CONFIG_NAMESPACE}:tenants`];
    let count = 0;
    try {
        const tenants = raw === undefined ? [] : JSON.parse(raw);
        count = Array.isArray(tenants) ? tenants.length : 0;
    } catch {
        return undefined; // the validation says what is wrong with it
    }
    const sharing = config[`${CONFIG_NAMESPACE}:roleSharing`] ?? "perTenant";
    const estimate = Math.round(BASE_HEAP_MIB + count * (HEAP_MIB_PER_TENANT[sharing] ?? HEAP_MIB_PER_TENANT.abac));
    const limit = Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
    if (estimate <= limit * 0.9) return undefined;
    const share = sharing === "perTenant" ? ` Share roles: roleSharing "abac" (Pod Identity) or "packed" (IRSA) register a fraction of the resources.` : "";
    return (
        `stack "${stack}" has ${count} tenants (roleSharing ${sharing}): evaluating it in one process needs about ${estimate} MiB of heap, ` +
        `more than this Node.js process may use (${limit} MiB).${share} Or run one stack per tenant (--per-tenant), split the tenants across stacks, ` +
        `or raise the limit (NODE_OPTIONS=--max-old-space-size=${Math.ceil((estimate * 1.2) / 1024) * 1024})`
    );
}

function validated(stack: string, config: Record<string, string>): StackConfig {
    const own: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
        if (key.startsWith(`${CONFIG_NAMESPACE}:`)) own[key] = value;
    }
    try {
        return validateStackConfig(stack, own, config["aws:region"]);
    } catch (error) {
        // Keep the whole list: the message lists only the first problems, --json gives every one.
        const problems = (error as { problems?: string[] }).problems;
        throw Object.assign(new UsageError((error as Error).message), problems ? { problems } : {});
    }
}

export interface SelectOptions {
    project: Project;
    stacks?: string[];
    tenants?: string[];
    perTenant?: boolean;
    /** Every shard stack of the selected environments (`fleet plan`'s record). */
    shards?: boolean;
    /** Shard stacks only, without their environment stacks (they ran before: a CI job, a PKO prerequisite). */
    skipEnvironment?: boolean;
}

/** Stack names are what Pulumi accepts: letters, digits, `-`, `_`, `.`; at most 100 characters. */
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

function stackNames(options: SelectOptions, shardNames: Set<string> = new Set()): string[] {
    const given = (options.stacks?.filter((s) => s !== undefined) ?? []).filter((s) => !shardNames.has(s));
    for (const name of given) {
        if (!STACK_NAME.test(name)) {
            throw new UsageError(`--stack "${name}" is not a stack name: use letters, digits, "-", "_" and "." (at most 100), as in Pulumi.NAME.yaml`);
        }
    }
    const names = given.length > 0 || shardNames.size > 0 ? [...new Set(given)] : discoverStacks(options.project.stackConfigDir);
    if (names.length === 0 && shardNames.size === 0) {
        throw new UsageError(`no Pulumi.STACK.yaml in ${options.project.stackConfigDir}: pass --cwd to the directory of your stack files, or create one`);
    }
    return names;
}

/**
 * The targets of a command, validated before anything runs: environment stacks first, then (with
 * --per-tenant) one stack per selected tenant. A --tenant filter naming no tenant is a usage error.
 */
export function selectTargets(options: SelectOptions): StackTarget[] {
    const { project } = options;
    // Shard stacks (`ENV.shard_001`) have no stack file: they come from their environment's file and the fleet record.
    const shardNames = new Set((options.stacks ?? []).filter((name) => parseShardStack(name) !== undefined && !hasStackFile(project, name)));
    if (shardNames.size > 0 || options.shards) return selectShardTargets(options, shardNames);
    if (options.skipEnvironment)
        throw new UsageError("--skip-environment runs shard stacks without their environment: name shard stacks (--stack ENV.shard_NNN) or add --shards");
    const names = stackNames(options);
    if (project.mode === "bundled") {
        // A sharded environment run whole would create every tenant's role again in the environment stack, beside the
        // shards' (or, with --per-tenant, in stacks of their own): refuse it.
        const record = readFleetRecord(project.stackConfigDir);
        const sharded = names.filter((name) => record?.environments[name] !== undefined);
        if (sharded.length > 0) {
            throw new UsageError(
                `${sharded.map((n) => `"${n}"`).join(", ")} ${sharded.length === 1 ? "is" : "are"} sharded (${FLEET_FILE}): its tenants live in its shard stacks, and running it whole ` +
                    `would create their roles a second time. Add --shards, or name shard stacks (--stack ${sharded[0]}.shard_001); to stop sharding, destroy the shards and remove "${sharded[0]}" from ${FLEET_FILE}`,
            );
        }
    }
    if (project.mode === "own") {
        const flag = options.perTenant ? "--per-tenant" : options.tenants && options.tenants.length > 0 ? "--tenant" : undefined;
        if (flag) {
            throw new UsageError(
                `${flag} splits the bundled program's ray-s3-access:tenants; ${project.dir} has its own program (Pulumi.yaml "${project.name}"). ` +
                    "Drop the flag, or run it from a directory holding only stack files",
            );
        }
        return names.map((stack) => ({ stack, role: "environment", environment: stack, ...readStackFile(project, stack), tenants: [] }));
    }
    const filter = options.tenants && options.tenants.length > 0 ? new Set(options.tenants) : undefined;
    const environments: StackTarget[] = [];
    const tenants: StackTarget[] = [];
    const matched = new Set<string>();
    for (const stack of names) {
        const { config, secrets, settings } = readStackFile(project, stack);
        if (!options.perTenant && !filter) {
            const tooLarge = sizeProblem(stack, config);
            if (tooLarge) throw new UsageError(tooLarge);
        }
        // Secrets count as keys the program will read (a mistyped secret key is as wrong as a plain one).
        const parsed = validated(stack, offlineConfig(config, secrets).config);
        const selected = parsed.tenants.filter((t) => !filter || filter.has(t.namespace));
        selected.forEach((t) => matched.add(t.namespace));
        const target = (name: string, role: StackRole, stackConfig: Record<string, string>, stackTenants: string[]): StackTarget => ({
            stack: name,
            role,
            environment: stack,
            config: stackConfig,
            secrets,
            settings,
            parsed: validated(name, stackConfig),
            tenants: stackTenants,
        });
        if (!options.perTenant) {
            // A --tenant filter narrows the environment stack itself to those tenants.
            const narrowed = filter ? { ...config, [`${CONFIG_NAMESPACE}:tenants`]: JSON.stringify(selected) } : config;
            if (selected.length > 0)
                environments.push(
                    target(
                        stack,
                        "environment",
                        narrowed,
                        selected.map((t) => t.namespace),
                    ),
                );
            continue;
        }
        environments.push(target(stack, "environment", { ...config, [`${CONFIG_NAMESPACE}:tenantStacks`]: "true" }, []));
        for (const tenant of selected) {
            const tenantConfig: Record<string, string> = {};
            for (const [key, value] of Object.entries(config)) {
                if (key !== `${CONFIG_NAMESPACE}:tenants`) tenantConfig[key] = value;
            }
            tenantConfig[`${CONFIG_NAMESPACE}:tenant`] = JSON.stringify(tenant);
            tenantConfig[`${CONFIG_NAMESPACE}:environmentStack`] = `organization/${project.name}/${stack}`;
            tenants.push({
                ...target(`${stack}.${tenant.namespace}`, "tenant", tenantConfig, [tenant.namespace]),
                environmentStackRef: { project: project.name, stack },
            });
        }
    }
    if (filter) {
        const unknown = [...filter].filter((t) => !matched.has(t));
        if (unknown.length > 0) {
            throw new UsageError(`--tenant ${unknown.map((t) => `"${t}"`).join(", ")} matches no tenant of ${names.join(", ")}`);
        }
    }
    return [...environments, ...tenants];
}

function hasStackFile(project: Pick<Project, "stackConfigDir">, stack: string): boolean {
    return stackFilePath(project.stackConfigDir, stack) !== undefined;
}

/**
 * Shard stacks and their environment stacks (environment first: it owns the cluster-level pieces the shards read
 * through a StackReference). Every selected environment's fleet record must be current: a tenant with no shard yet
 * would not be deployed, and one the record no longer holds would be deleted, so both are refused until `fleet plan
 * --write` records them.
 */
function selectShardTargets(options: SelectOptions, shardNames: Set<string>): StackTarget[] {
    const { project } = options;
    const how = "run `ray-s3-access fleet plan --write` and commit " + FLEET_FILE;
    if (project.mode === "own") {
        throw new UsageError(
            `shard stacks split the bundled program's ray-s3-access:tenants; ${project.dir} has its own program (Pulumi.yaml "${project.name}")`,
        );
    }
    if (options.perTenant) throw new UsageError("--per-tenant and shard stacks both split an environment's tenants: pick one");
    if (options.tenants && options.tenants.length > 0) {
        throw new UsageError("--tenant narrows one stack's tenants; a shard stack always holds all of its tenants: pick shards with --stack ENV.shard_NNN");
    }
    const record = readFleetRecord(project.stackConfigDir);
    if (!record) throw new UsageError(`no ${FLEET_FILE} in ${project.stackConfigDir}, so there are no shard stacks yet: ${how}`);
    const environments = [...new Set([...stackNames(options, shardNames), ...[...shardNames].map((name) => parseShardStack(name)!.environment)])];
    const targets: StackTarget[] = [];
    const shardTargets: StackTarget[] = [];
    for (const environment of environments) {
        const plan = record.environments[environment];
        if (!plan) throw new UsageError(`${FLEET_FILE} has no shards for environment "${environment}": ${how}`);
        const { config, secrets, settings } = readStackFile(project, environment);
        const parsed = validated(environment, offlineConfig(config, secrets).config);
        const { changes } = planEnvironment(
            environment,
            parsed.tenants.map((t) => t.namespace),
            plan,
            plan.shardSize,
        );
        if (changes.added.length > 0 || changes.removed.length > 0) {
            const list = (names: string[]) => names.slice(0, 5).join(", ") + (names.length > 5 ? `, and ${names.length - 5} more` : "");
            throw new UsageError(
                `${FLEET_FILE} is not current for "${environment}"` +
                    (changes.added.length ? `: ${changes.added.length} tenant(s) have no shard (${list(changes.added)})` : "") +
                    (changes.removed.length
                        ? `; ${changes.removed.length} planned tenant(s) are gone from Pulumi.${environment}.yaml (${list(changes.removed)})`
                        : "") +
                    `: ${how}`,
            );
        }
        const envConfig = { ...config, [`${CONFIG_NAMESPACE}:tenantStacks`]: "true" };
        targets.push({
            stack: environment,
            role: "environment",
            environment,
            config: envConfig,
            secrets,
            settings,
            parsed: validated(environment, envConfig),
            tenants: [],
        });
        const byName = new Map(parsed.tenants.map((t) => [t.namespace, t]));
        const raw = rawTenants(config);
        for (const shard of plan.shards) {
            if (!options.shards && !shardNames.has(shard.stack)) continue;
            const shardConfig: Record<string, string> = {};
            for (const [key, value] of Object.entries(config)) if (key !== `${CONFIG_NAMESPACE}:tenants`) shardConfig[key] = value;
            // Tenants as the stack file gives them, in the shard's order.
            shardConfig[`${CONFIG_NAMESPACE}:tenants`] = JSON.stringify(shard.tenants.map((namespace) => raw.get(namespace) ?? byName.get(namespace)));
            shardConfig[`${CONFIG_NAMESPACE}:environmentStack`] = `organization/${project.name}/${environment}`;
            shardTargets.push({
                stack: shard.stack,
                role: "tenant",
                environment,
                config: shardConfig,
                secrets,
                settings,
                parsed: validated(shard.stack, offlineConfig(shardConfig, secrets).config),
                tenants: [...shard.tenants],
                environmentStackRef: { project: project.name, stack: environment },
            });
        }
    }
    const unknown = [...shardNames].filter((name) => !shardTargets.some((t) => t.stack === name));
    if (unknown.length > 0) throw new UsageError(`--stack ${unknown.map((n) => `"${n}"`).join(", ")}: no such shard in ${FLEET_FILE}`);
    return options.skipEnvironment ? shardTargets : [...targets, ...shardTargets];
}

/** Tenants' entries exactly as the stack file writes them (validation defaults are not copied into shard config). */
function rawTenants(config: Record<string, string>): Map<string, unknown> {
    try {
        const list = JSON.parse(config[`${CONFIG_NAMESPACE}:tenants`] ?? "[]");
        return new Map((Array.isArray(list) ? list : []).filter((t) => t && typeof t === "object").map((t) => [t.namespace, t]));
    } catch {
        return new Map();
    }
}

/** An environment stack's validated tenants (namespaces, in file order), without the evaluation-size check. */
export function environmentTenants(project: Project, environment: string): string[] {
    if (project.mode === "own")
        throw new UsageError(`fleets split the bundled program's ray-s3-access:tenants; ${project.dir} has its own program (Pulumi.yaml "${project.name}")`);
    const { config, secrets } = readStackFile(project, environment);
    return validated(environment, offlineConfig(config, secrets).config).tenants.map((t) => t.namespace);
}

/** The environment stacks a command names, or every stack file's (shard stack names excluded). */
export function environmentNames(project: Project, stacks: string[] | undefined): string[] {
    return stackNames({ project, stacks });
}

/**
 * An environment of the fleet for the emitters: its stack file's config as YAML gives it (structured values stay
 * structured), its secure keys, its secrets provider, its tenants' entries and its recorded plan, which must be current.
 */
export function fleetEnvironment(project: Project, environment: string, record: FleetRecord | undefined): FleetEnvironment {
    const how = "run `ray-s3-access fleet plan --write` and commit " + FLEET_FILE;
    const plan = record?.environments[environment];
    if (!plan) throw new UsageError(`${FLEET_FILE} has no shards for environment "${environment}": ${how}`);
    if (project.mode === "own")
        throw new UsageError(`fleets split the bundled program's ray-s3-access:tenants; ${project.dir} has its own program (Pulumi.yaml "${project.name}")`);
    const { config, secrets, settings, values } = readStackFile(project, environment);
    const tenants = validated(environment, offlineConfig(config, secrets).config).tenants.map((t) => t.namespace);
    const { changes } = planEnvironment(environment, tenants, plan, plan.shardSize);
    if (changes.added.length > 0 || changes.removed.length > 0) {
        throw new UsageError(`${FLEET_FILE} is not current for "${environment}" (${changes.added.length} to place, ${changes.removed.length} gone): ${how}`);
    }
    return {
        name: environment,
        config: values,
        secretKeys: Object.keys(secrets),
        secretsProvider: settings.secretsProvider,
        tenants: rawTenants(config),
        plan,
    };
}
