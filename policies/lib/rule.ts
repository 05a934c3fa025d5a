/**
 * The machinery every rule shares: the pack's configuration (production patterns, exceptions, fail-closed
 * preview), and turning one check into the policies the engine runs, with the enforcement level the stack
 * calls for.
 *
 * The policy engine gives each policy one enforcement level, but several rules here are advisory in
 * development and mandatory in production. A "graded" rule is therefore registered as two policies that
 * share one check: `NAME` (mandatory) reports the findings that are mandatory for this stack, and
 * `NAME-advisory` (advisory) the others. Either can be configured or disabled on its own.
 */
import type {
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { DocumentParseError } from "./documents";
import { isUnknownValueError } from "./resources";
import { globMatches, isProductionStack, stackFromUrn } from "./stack";

/** One exception: a resource (URN or logical name; `*` globs) exempt from a policy until a date. */
export interface PolicyException {
    resource: string;
    reason: string;
    /** `YYYY-MM-DD`; the exception no longer applies from the day after. */
    expires: string;
}

/** Each policy's configuration (set per policy name with `--policy-pack-config`). */
export interface RuleConfig {
    /** Stack-name patterns (`*` globs) that are production besides the built-in rules. */
    productionStacks: string[];
    /** In production, a document that cannot be read during preview is a violation. */
    failClosedOnUnknown: boolean;
    exceptions: PolicyException[];
}

export const ruleConfigSchema: PolicyConfigSchema = {
    properties: {
        productionStacks: {
            type: "array",
            items: { type: "string" },
            default: [],
            description: "More stack-name patterns (* globs) to treat as production.",
        },
        failClosedOnUnknown: {
            type: "boolean",
            default: true,
            description: "In production, report a document that cannot be read during preview as a mandatory violation.",
        },
        exceptions: {
            type: "array",
            default: [],
            items: {
                type: "object",
                properties: {
                    resource: { type: "string", description: "URN or logical name of the resource; * globs." },
                    reason: { type: "string", minLength: 1 },
                    expires: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" },
                },
                required: ["resource", "reason", "expires"],
            },
        },
    },
};

export type Level = "mandatory" | "advisory";

export interface Finding {
    level: Level;
    message: string;
}

/** What a check knows about where it runs. */
export interface RuleContext {
    stack: string | undefined;
    production: boolean;
    config: RuleConfig;
}

/** A resource as a check sees it (a validateResource argument or a stack's PolicyResource). */
export interface CheckedResource {
    type: string;
    name: string;
    urn: string;
    props: Record<string, any>;
}

export type ResourceCheck = (resource: CheckedResource, context: RuleContext) => Promise<Finding[]> | Finding[];

/** `mandatory` in production, `advisory` elsewhere. */
export function productionLevel(context: RuleContext): Level {
    return context.production ? "mandatory" : "advisory";
}

function configOf(args: { getConfig<T extends object>(): T }): RuleConfig {
    const config = args.getConfig<Partial<RuleConfig>>() ?? {};
    return {
        productionStacks: config.productionStacks ?? [],
        failClosedOnUnknown: config.failClosedOnUnknown ?? true,
        exceptions: config.exceptions ?? [],
    };
}

function contextFor(urn: string | undefined, stackTags: ReadonlyMap<string, string>, config: RuleConfig): RuleContext {
    const stack = stackFromUrn(urn);
    return { stack, production: isProductionStack(stack, stackTags, config.productionStacks), config };
}

/** The exception that covers a resource, if any, and whether it is still in force. */
function exceptionFor(resource: CheckedResource, config: RuleConfig, now: Date): { exception: PolicyException; expired: boolean } | undefined {
    const exception = config.exceptions.find((e) => globMatches(e.resource, resource.urn) || globMatches(e.resource, resource.name));
    if (!exception) return undefined;
    const lastDay = new Date(`${exception.expires}T23:59:59.999Z`);
    return { exception, expired: Number.isNaN(lastDay.getTime()) || now > lastDay };
}

async function runCheck(check: ResourceCheck, resource: CheckedResource, context: RuleContext): Promise<Finding[]> {
    try {
        return await check(resource, context);
    } catch (error) {
        if (error instanceof DocumentParseError) {
            return [{ level: productionLevel(context), message: `${resource.type} "${resource.name}": a policy document ${error.message}.` }];
        }
        if (isUnknownValueError(error) && context.production && context.config.failClosedOnUnknown) {
            return [
                {
                    level: "mandatory",
                    message:
                        `${resource.type} "${resource.name}": ${error.message}, and in production a document this policy ` +
                        `cannot read is a violation (fail closed). Make the value known before preview (a literal, or a ` +
                        `resource that already exists), or set failClosedOnUnknown: false in this policy's config.`,
                },
            ];
        }
        throw error;
    }
}

function reportFindings(
    findings: Finding[],
    level: Level,
    resource: CheckedResource,
    config: RuleConfig,
    reportViolation: ReportViolation,
    urn?: string,
): void {
    const relevant = findings.filter((f) => f.level === level);
    if (relevant.length === 0) return;
    const exempt = exceptionFor(resource, config, new Date());
    if (exempt && !exempt.expired) return;
    for (const finding of relevant) {
        const note = exempt
            ? ` (the exception "${exempt.exception.reason}" expired on ${exempt.exception.expires}: fix the resource or renew the exception)`
            : "";
        reportViolation(finding.message + note, urn);
    }
}

interface RuleSpec {
    name: string;
    description: string;
    check: ResourceCheck;
}

/** One policy of a rule: runs the check and reports the findings of `level`. */
function resourcePolicy(spec: RuleSpec, level: Level, name: string, description: string, productionOnly: boolean): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: level,
        configSchema: ruleConfigSchema,
        validateResource: async (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            const config = configOf(args);
            const context = contextFor(args.urn, args.stackTags, config);
            if (productionOnly && !context.production) {
                args.notApplicable(`stack "${context.stack ?? "?"}" is not a production stack`);
            }
            const resource = { type: args.type, name: args.name, urn: args.urn, props: args.props };
            reportFindings(await runCheck(spec.check, resource, context), level, resource, config, reportViolation);
        },
    };
}

/** A rule that is mandatory in production stacks and not applicable anywhere else. */
export function productionOnlyResourceRule(spec: RuleSpec): ResourceValidationPolicy {
    return resourcePolicy(spec, "mandatory", spec.name, spec.description, true);
}

/** A rule that is mandatory in every stack (for what IAM itself refuses). */
export function mandatoryResourceRule(spec: RuleSpec): ResourceValidationPolicy {
    return resourcePolicy(spec, "mandatory", spec.name, spec.description, false);
}

/** A graded rule: `NAME` reports mandatory findings, `NAME-advisory` advisory ones. */
export function gradedResourceRule(spec: RuleSpec): ResourceValidationPolicy[] {
    return [
        resourcePolicy(spec, "mandatory", spec.name, spec.description, false),
        resourcePolicy(spec, "advisory", `${spec.name}-advisory`, `${spec.description} (advisory findings)`, false),
    ];
}

/** A stack rule whose findings name the resource they are about. */
export type StackCheck = (
    resources: PolicyResource[],
    context: RuleContext,
) => Promise<(Finding & { resource: PolicyResource })[]> | (Finding & { resource: PolicyResource })[];

/** A stack rule, mandatory everywhere. */
export function stackRule(spec: { name: string; description: string; check: StackCheck }): StackValidationPolicy {
    return stackPolicy(spec, "mandatory", spec.name, spec.description);
}

/** A graded stack rule: `NAME` reports its mandatory findings, `NAME-advisory` its advisory ones. */
export function gradedStackRule(spec: { name: string; description: string; check: StackCheck }): StackValidationPolicy[] {
    return [
        stackPolicy(spec, "mandatory", spec.name, spec.description),
        stackPolicy(spec, "advisory", `${spec.name}-advisory`, `${spec.description} (advisory findings)`),
    ];
}

function stackPolicy(spec: { check: StackCheck }, level: Level, name: string, description: string): StackValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: level,
        configSchema: ruleConfigSchema,
        validateStack: async (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const config = configOf(args);
            const context = contextFor(args.resources[0]?.urn, args.stackTags, config);
            for (const finding of await spec.check(args.resources, context)) {
                if (finding.level !== level) continue;
                const resource = { type: finding.resource.type, name: finding.resource.name, urn: finding.resource.urn, props: finding.resource.props };
                reportFindings([finding], finding.level, resource, config, reportViolation, finding.resource.urn);
            }
        },
    };
}
