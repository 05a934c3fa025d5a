/**
 * `--policy-pack-config`, checked before any rule runs, and failing closed: the Pulumi CLI refuses a level it
 * does not know and properties that break a policy's schema; this also refuses what the CLI passes over in
 * silence (a policy name the pack does not have, a key the policy's schema does not list), because on a gate
 * a typo that disables a rule is an opened gate. Every problem is reported at once, with "did you mean".
 */
import type { EnforcementLevel, Policies, PolicyConfigSchema, PolicyPackConfig } from "@pulumi/policy";
import Ajv, { ErrorObject } from "ajv";
import { describeType, nearestName } from "../components/names";
import { UsageError } from "./errors";
import { enforcementLevelOf } from "./evaluatePolicies";

/** The engine's enforcement levels (the Pulumi CLI's `apitype.EnforcementLevel`). */
export const ENFORCEMENT_LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** The key the Pulumi CLI reads as "every policy of the pack". */
export const ALL_POLICIES = "all";

function levelProblem(where: string, value: unknown): string | undefined {
    if (typeof value === "string" && (ENFORCEMENT_LEVELS as readonly string[]).includes(value)) return undefined;
    const hint = typeof value === "string" ? nearestName(value, ENFORCEMENT_LEVELS) : undefined;
    return (
        `${where}: enforcementLevel ${JSON.stringify(value)} is not an enforcement level; use one of ${ENFORCEMENT_LEVELS.join(", ")}` +
        (hint ? ` (did you mean "${hint}"?)` : "")
    );
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<PolicyConfigSchema, ReturnType<Ajv["compile"]>>();

/** A policy's schema as the CLI builds it (an object of `properties`, `required`), and closed to unknown keys. */
function validatorFor(schema: PolicyConfigSchema) {
    let validate = validators.get(schema);
    if (!validate) {
        validate = ajv.compile({ type: "object", properties: schema.properties, required: schema.required ?? [], additionalProperties: false });
        validators.set(schema, validate);
    }
    return validate;
}

/** `exceptions[0].expires` from ajv's `/exceptions/0/expires`. */
function keyPath(error: ErrorObject): string {
    return error.instancePath
        .split("/")
        .slice(1)
        .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
        .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

function valueAt(data: unknown, error: ErrorObject): unknown {
    let value = data;
    for (const part of error.instancePath.split("/").slice(1)) value = (value as any)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    return value;
}

function schemaProblem(policy: string, schema: PolicyConfigSchema, data: unknown, error: ErrorObject): string {
    const at = keyPath(error);
    const where = `policy "${policy}"${at ? ` key ${at}` : ""}`;
    if (error.keyword === "additionalProperties") {
        const key = String(error.params.additionalProperty);
        const known = at === "" ? Object.keys(schema.properties) : Object.keys((error.parentSchema as any)?.properties ?? {});
        const hint = nearestName(key, known);
        return (
            `policy "${policy}"${at ? ` key ${at}` : ""}: unknown key "${key}"` +
            (hint ? ` (did you mean "${hint}"?)` : "") +
            `; the keys it takes are enforcementLevel${known.length ? `, ${known.join(", ")}` : ""}`
        );
    }
    if (error.keyword === "required") return `${where}: "${String(error.params.missingProperty)}" is required`;
    const value = valueAt(data, error);
    return `${where}: ${describeType(value)} ${error.message ?? "is not valid"}${error.keyword === "enum" ? ` (${JSON.stringify(error.params.allowedValues)})` : ""}`;
}

/**
 * Every problem of a policy pack config for this pack's policies (empty when it is sound). `config` is the
 * parsed JSON: an object whose keys are policy names (or `all`), each a level or an object of `enforcementLevel`
 * and the policy's own properties.
 */
export function policyConfigProblems(policies: Policies, config: unknown): string[] {
    if (!config || typeof config !== "object" || Array.isArray(config)) {
        return [`the config is ${describeType(config)}: it must be a JSON object keyed by policy name`];
    }
    const byName = new Map(policies.map((p) => [p.name, p]));
    const problems: string[] = [];
    for (const [name, entry] of Object.entries(config as Record<string, unknown>)) {
        const policy = byName.get(name);
        if (!policy && name !== ALL_POLICIES) {
            const hint = nearestName(name, [...byName.keys()]);
            problems.push(
                `"${name}" is not a policy of this pack` +
                    (hint ? ` (did you mean "${hint}"?)` : "") +
                    `; its policies are ${[...byName.keys()].join(", ")}, and "all" sets every policy's level`,
            );
            continue;
        }
        if (typeof entry === "string") {
            const problem = levelProblem(`policy "${name}"`, entry);
            if (problem) problems.push(problem);
            continue;
        }
        if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
            problems.push(`policy "${name}": ${describeType(entry)} is not a config; give an enforcement level ("mandatory") or an object`);
            continue;
        }
        const { enforcementLevel, ...properties } = entry as Record<string, unknown>;
        if (enforcementLevel !== undefined) {
            const problem = levelProblem(`policy "${name}"`, enforcementLevel);
            if (problem) problems.push(problem);
        }
        if (!policy) {
            // "all" takes a level only.
            for (const key of Object.keys(properties)) problems.push(`policy "all": unknown key "${key}"; "all" takes only enforcementLevel`);
            continue;
        }
        const schema = policy.configSchema ?? { properties: {} };
        const validate = validatorFor(schema);
        if (!validate(properties)) {
            for (const error of validate.errors ?? []) problems.push(schemaProblem(name, schema, properties, error));
        }
    }
    return problems;
}

/** Throws a UsageError (exit 2) that lists every problem of the config, naming the file. */
export function assertPolicyConfig(policies: Policies, config: unknown, file: string): PolicyPackConfig {
    const problems = policyConfigProblems(policies, config);
    if (problems.length > 0) {
        throw new UsageError(
            `--policy-pack-config ${file} is refused before any rule runs (a gate must not open on a typo):\n` + problems.map((p) => `  - ${p}`).join("\n"),
        );
    }
    return config as PolicyPackConfig;
}

/**
 * What `check` can judge under a config: the policies that run and those whose violation fails the run (mandatory,
 * or remediate, which offline can only report). Throws a UsageError (exit 2) when no policy runs: a check that
 * judges nothing would end "passed".
 */
export function assertSomethingJudged(policies: Policies, config: PolicyPackConfig, file: string | undefined): { running: number; failing: number } {
    const levels = policies.map((policy) => enforcementLevelOf(policy, config));
    const running = levels.filter((level) => level !== "disabled").length;
    if (policies.length === 0) throw new UsageError(`the policy pack has no policies: check would judge nothing and end "passed"`);
    if (running === 0) {
        throw new UsageError(
            `${file ? `--policy-pack-config ${file} disables` : "the policy pack disables"} every policy of the pack (${policies.length}): check would judge nothing and end "passed"; ` +
                `give at least one a level other than "disabled" (a stack that needs no gate needs no check)`,
        );
    }
    return { running, failing: levels.filter((level) => level === "mandatory" || level === "remediate").length };
}
