import type { PolicyResource } from "@pulumi/policy";
import { IRSA_ROLE_ANNOTATION } from "../../components/constants";
import { readKnown } from "../lib/resources";
import { Finding, stackRule } from "../lib/rule";

const SERVICE_ACCOUNT_TYPES = new Set(["kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:ServiceAccountPatch"]);
const ASSOCIATION_TYPE = "aws:eks/podIdentityAssociation:PodIdentityAssociation";
/** KubeRay's custom resources, as Pulumi registers them (CustomResource, or what yaml/helm resources expand to). */
const RAY_KINDS = new Set(["RayCluster", "RayJob", "RayService"]);

/** A pod template of a Ray resource and who it runs as (`default` when it names no service account). */
interface PodTemplate {
    what: string;
    serviceAccount: string | undefined;
}

function serviceAccountOf(template: unknown): string | undefined {
    const name = readKnown(() => (template as any)?.spec?.serviceAccountName);
    if (name === undefined) return readKnown(() => (template as any)?.spec) === undefined ? undefined : "default";
    return typeof name === "string" && name !== "" ? name : "default";
}

/** The head and every worker group of a RayCluster spec (also a RayJob's `rayClusterSpec`, a RayService's `rayClusterConfig`). */
function clusterTemplates(spec: unknown, prefix: string): PodTemplate[] {
    if (!spec || typeof spec !== "object") return [];
    const templates: PodTemplate[] = [
        { what: `${prefix}head (headGroupSpec)`, serviceAccount: serviceAccountOf(readKnown(() => (spec as any).headGroupSpec?.template)) },
    ];
    const workers = readKnown(() => (spec as any).workerGroupSpecs);
    if (Array.isArray(workers)) {
        workers.forEach((group, index) => {
            const name = readKnown(() => group?.groupName);
            templates.push({
                what: `${prefix}worker group ${typeof name === "string" ? `"${name}"` : `#${index + 1}`} (workerGroupSpecs[${index}])`,
                serviceAccount: serviceAccountOf(readKnown(() => group?.template)),
            });
        });
    }
    return templates;
}

/** Every pod template a Ray resource runs: its cluster's head and worker groups, and a RayJob's submitter. */
function podTemplates(kind: string, spec: any): PodTemplate[] {
    if (kind === "RayCluster") return clusterTemplates(spec, "");
    if (kind === "RayService")
        return clusterTemplates(
            readKnown(() => spec?.rayClusterConfig),
            "",
        );
    const templates = clusterTemplates(
        readKnown(() => spec?.rayClusterSpec),
        "",
    );
    // K8sJobMode (the default) runs `ray job submit` in a Job of its own: KubeRay's default submitter template names no
    // service account. SidecarMode runs it in the head pod; HTTPMode and InteractiveMode run no submitter pod.
    const mode = readKnown(() => spec?.submissionMode) ?? "K8sJobMode";
    if (mode === "K8sJobMode") {
        const template = readKnown(() => spec?.submitterPodTemplate);
        templates.push({ what: "the job submitter (submitterPodTemplate)", serviceAccount: template === undefined ? "default" : serviceAccountOf(template) });
    }
    return templates;
}

/**
 * Checks that every RayCluster, RayJob and RayService in a namespace a RayS3Access serves runs its head, every worker
 * group and a RayJob's submitter as a service account the stack gives S3 access to: a pod template without
 * `serviceAccountName` runs as `default`, whose pods get AccessDenied (or the node's role) while the role is right.
 * The service accounts given access are those annotated with `eks.amazonaws.com/role-arn` and those a Pod Identity
 * association names.
 */
export const rayPodsUseTheServiceAccount = stackRule({
    name: "ray-pods-use-the-service-account",
    description:
        "Checks that every RayCluster, RayJob and RayService (ray.io/v1) in a namespace a RayS3Access serves runs its head, every worker group " +
        "and a RayJob's submitter as a service account the stack gives S3 access to (IRSA annotation or Pod Identity association).",
    check: (resources) => {
        const findings: (Finding & { resource: PolicyResource })[] = [];
        const granted = new Map<string, Set<string>>();
        const grant = (namespace: unknown, name: unknown) => {
            if (typeof namespace !== "string" || typeof name !== "string") return;
            if (!granted.has(namespace)) granted.set(namespace, new Set());
            granted.get(namespace)!.add(name);
        };
        for (const resource of resources) {
            if (SERVICE_ACCOUNT_TYPES.has(resource.type)) {
                const metadata = readKnown(() => resource.props.metadata);
                const annotations = readKnown(() => metadata?.annotations);
                if (annotations && typeof annotations === "object" && IRSA_ROLE_ANNOTATION in annotations) {
                    grant(
                        readKnown(() => metadata.namespace) ?? "default",
                        readKnown(() => metadata.name),
                    );
                }
            } else if (resource.type === ASSOCIATION_TYPE) {
                grant(
                    readKnown(() => resource.props.namespace),
                    readKnown(() => resource.props.serviceAccount),
                );
            }
        }
        if (granted.size === 0) return findings;
        for (const resource of resources) {
            const kind = /^kubernetes:ray\.io\/v1:(\w+)$/.exec(resource.type)?.[1];
            if (!kind || !RAY_KINDS.has(kind)) continue;
            const namespace = readKnown(() => resource.props.metadata?.namespace) ?? "default";
            const name = readKnown(() => resource.props.metadata?.name) ?? resource.name;
            const allowed = typeof namespace === "string" ? granted.get(namespace) : undefined;
            if (!allowed) continue; // a namespace no RayS3Access serves: not this pack's business
            for (const template of podTemplates(
                kind,
                readKnown(() => resource.props.spec),
            )) {
                if (template.serviceAccount === undefined || allowed.has(template.serviceAccount)) continue;
                findings.push({
                    resource,
                    level: "mandatory",
                    message:
                        `${kind} ${namespace}/${name} ("${resource.name}"): ${template.what} runs as service account "${template.serviceAccount}", which this stack gives ` +
                        `no S3 access in namespace "${namespace}" (it does to ${[...allowed].sort().join(", ")}): its pods get AccessDenied or the node's role. ` +
                        `Set serviceAccountName: ${[...allowed].sort()[0]} in that pod template.`,
                });
            }
        }
        return findings;
    },
});
