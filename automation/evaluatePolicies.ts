/**
 * Runs the pack's rules on a set of resources the way the Pulumi policy server does: each resource's props
 * behind the same unknown-checking proxy, per-policy config with `enforcementLevel` overrides, not-applicable
 * and unknown-value handling, and stack rules over every resource at once. The runner's offline `check` and
 * the tests use it; under the Pulumi CLI the real server runs the same policies.
 */
import type { EnforcementLevel, Policies, PolicyPackConfig, PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
// The policy server wraps props with this proxy; using it here keeps preview's unknowns behaving the same.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as { unknownCheckingProxy<T>(value: T): T };

/** A resource to evaluate: what the engine would send for it. */
export interface EvaluatedResource {
    type: string;
    name: string;
    urn: string;
    props: Record<string, any>;
    /** URNs of the resources it depends on, and per property. */
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    parent?: string;
}

export interface Violation {
    policy: string;
    enforcementLevel: EnforcementLevel;
    message: string;
    urn: string;
}

export interface EvaluateOptions {
    stackTags?: Record<string, string>;
    /** Per-policy config, as in `--policy-pack-config`. */
    config?: PolicyPackConfig;
}

class NotApplicable extends Error {}

/** The resource options the engine reports for a resource declared without any. */
const DEFAULT_OPTIONS = { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], replaceOnChanges: [] } as any;

/** The policy's own entry, then `all` (every policy's level, as the Pulumi CLI reads it), then the pack's level. */
export function enforcementLevelOf(policy: { name: string; enforcementLevel?: EnforcementLevel }, config: PolicyPackConfig): EnforcementLevel {
    const levelIn = (entry: PolicyPackConfig[string] | undefined) => (typeof entry === "string" ? entry : entry?.enforcementLevel);
    return levelIn(config[policy.name]) ?? levelIn(config.all) ?? policy.enforcementLevel ?? "advisory";
}

function configFor(name: string, config: PolicyPackConfig): object {
    const entry = config[name];
    if (!entry || typeof entry === "string") return {};
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { enforcementLevel: _level, ...properties } = entry;
    return properties;
}

function isResourcePolicy(policy: ResourceValidationPolicy | StackValidationPolicy): policy is ResourceValidationPolicy {
    return "validateResource" in policy;
}

/** As the policy server decides `args.isType(aws.iam.Policy)`: the class's Pulumi type token, else its isInstance. */
function isTypeOf(type: string, resourceClass: any): boolean {
    const token = resourceClass?.__pulumiType;
    if (typeof token === "string" && token.length > 0) return type === token;
    return typeof resourceClass?.isInstance === "function" && resourceClass.isInstance({ __pulumiType: type }) === true;
}

function notApplicable(reason?: string): never {
    throw new NotApplicable(reason);
}

/** Every violation the policies report on the resources. */
export async function evaluatePolicies(policies: Policies, resources: EvaluatedResource[], options: EvaluateOptions = {}): Promise<Violation[]> {
    const config = options.config ?? {};
    const stackTags = new Map(Object.entries(options.stackTags ?? {}));
    const violations: Violation[] = [];

    for (const policy of policies) {
        let level = enforcementLevelOf(policy, config);
        if (level === "disabled") continue;
        if (level === "remediate") level = "mandatory";
        const getConfig = <T extends object>() => configFor(policy.name, config) as T;

        if (isResourcePolicy(policy)) {
            const validations = [policy.validateResource ?? []].flat();
            for (const resource of resources) {
                const props = unknownCheckingProxy(resource.props);
                const report = (message: string) => violations.push({ policy: policy.name, enforcementLevel: level, message, urn: resource.urn });
                for (const validate of validations) {
                    try {
                        await validate(
                            {
                                type: resource.type,
                                name: resource.name,
                                urn: resource.urn,
                                props,
                                opts: DEFAULT_OPTIONS,
                                stackTags,
                                isType: (cls: any) => isTypeOf(resource.type, cls),
                                asType: (cls: any) => (isTypeOf(resource.type, cls) ? (props as any) : undefined),
                                getConfig,
                                notApplicable,
                            },
                            report,
                        );
                    } catch (error) {
                        if (error instanceof NotApplicable) break;
                        if (error instanceof Error && error.constructor.name === "UnknownValueError") {
                            violations.push({
                                policy: policy.name,
                                enforcementLevel: "advisory",
                                message: `can't run policy '${policy.name}' during preview: ${error.message}`,
                                urn: resource.urn,
                            });
                            break;
                        }
                        throw new Error(`policy ${policy.name} failed on ${resource.urn}: ${(error as Error).message}`);
                    }
                }
            }
        } else {
            const byUrn = new Map<string, PolicyResource>();
            const policyResources = resources.map((resource) => {
                const props = unknownCheckingProxy(resource.props);
                const policyResource: PolicyResource = {
                    type: resource.type,
                    name: resource.name,
                    urn: resource.urn,
                    props,
                    opts: DEFAULT_OPTIONS,
                    dependencies: [],
                    propertyDependencies: {},
                    isType: (cls: any) => isTypeOf(resource.type, cls),
                    asType: (cls: any) => (isTypeOf(resource.type, cls) ? (props as any) : undefined),
                };
                byUrn.set(resource.urn, policyResource);
                return policyResource;
            });
            resources.forEach((resource, index) => {
                const target = policyResources[index];
                target.dependencies = (resource.dependencies ?? []).map((u) => byUrn.get(u)).filter((r): r is PolicyResource => r !== undefined);
                for (const [property, urns] of Object.entries(resource.propertyDependencies ?? {})) {
                    target.propertyDependencies[property] = urns.map((u) => byUrn.get(u)).filter((r): r is PolicyResource => r !== undefined);
                }
                if (resource.parent) target.parent = byUrn.get(resource.parent);
            });
            try {
                await policy.validateStack({ resources: policyResources, stackTags, getConfig, notApplicable }, (message, urn) =>
                    violations.push({ policy: policy.name, enforcementLevel: level, message, urn: urn ?? "" }),
                );
            } catch (error) {
                if (!(error instanceof NotApplicable)) {
                    throw new Error(`policy ${policy.name} failed on the stack: ${(error as Error).message}`);
                }
            }
        }
    }
    return violations;
}

/** `urn:pulumi:STACK::PROJECT::TYPE::NAME` (types of children qualified as the engine does, parent$child). */
export function resourceUrn(stack: string, project: string, type: string, name: string): string {
    return `urn:pulumi:${stack}::${project}::${type}::${name}`;
}
