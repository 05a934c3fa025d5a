/**
 * `verify`: checks each role of a deployed stack, and the tenants it serves, against live AWS (and
 * Kubernetes): the role exists; its trust admits exactly the tenants' service accounts (evaluated as IAM
 * would, not string-compared); the permissions policy is attached and matches the stack's; the OIDC provider
 * exists and is the cluster's issuer (IRSA); the Pod Identity associations exist and point at the role (Pod
 * Identity); the ServiceAccounts carry the role annotation (IRSA). Shared roles (`abac`, `packed`) are checked
 * once for all their tenants; buckets in another account add the assets role's checks there. With a canary
 * runner, a Job per tenant then proves the pod really gets the access. Each failure says what is wrong and
 * how to fix it.
 */
import { DescribeAddonCommand, DescribeClusterCommand, DescribePodIdentityAssociationCommand, ListPodIdentityAssociationsCommand } from "@aws-sdk/client-eks";
import { POD_IDENTITY_AGENT_ADDON } from "../components/constants";
import {
    GetOpenIDConnectProviderCommand,
    GetPolicyCommand,
    GetPolicyVersionCommand,
    GetRoleCommand,
    ListAttachedRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import { isDeepStrictEqual } from "util";
import { IRSA_ROLE_ANNOTATION, POD_IDENTITY_PRINCIPAL } from "../components/constants";
import { buildAssumeAssetsPolicy, chainActions, chainedEnvironment, ChainOptions } from "../components/crossAccount";
import { GetAccessPointPolicyCommand, GetAccessPointScopeCommand, ListAccessPointsCommand } from "@aws-sdk/client-s3-control";
import {
    abacScope,
    BucketLocation,
    buildDirectoryAccessPointPolicy,
    buildS3PermissionsPolicy,
    directoryAccessPointScope,
    PolicyDocument,
    ResolvedBucketAccess,
    withAccessPointArns,
} from "../components/s3Policy";
import { issuerFromProviderArn, issuerHostPath, serviceAccountSubject, ServiceAccountRef } from "../components/trustPolicy";
import { identityStrategy } from "../components/identities";
import { validateArgs } from "../components/validation";
import { allowStatements, principalValues } from "../policies/lib/documents";
import { AssumeRequest, trustAdmitsRequest, trustAdmitsSubject } from "../policies/lib/trust";
import { StackConfig, TenantConfig, tenantArgs, tenantSubjects } from "../programs/config";
import { roleGroups, unionOfBuckets } from "../programs/sharing";
import { CanaryKube, CanaryOptions, CanaryResult, CanaryTarget, runCanary } from "./canary";
import { pooled } from "./pool";

type Sender = { send(command: any): Promise<any> };

/** The AWS SDK v3 clients verify uses (anything with `send`, so tests can put recorded responses in front). */
export interface VerifyClients {
    iam: Sender;
    eks: Sender;
    /** The region the cluster is in (for the cluster ARN EKS passes to Pod Identity trusts). */
    region?: string;
    /** An EKS client for another region (additional clusters there); `eks` when absent. */
    eksFor?: (region: string) => Sender;
    /**
     * The pods running as a ServiceAccount, and whether each got IRSA's web-identity environment (the migration
     * checks that none still does before Pod Identity alone is trusted).
     */
    listPods?: (namespace: string, serviceAccount: string) => Promise<{ name: string; webIdentity: boolean }[]>;
    /** Reads a ServiceAccount's annotations; undefined when it does not exist. */
    readServiceAccount?: (namespace: string, name: string) => Promise<{ annotations?: Record<string, string> } | undefined>;
    /** An IAM client for the buckets' account, from the role the program deploys there with. */
    assetsIam?: (deployRoleArn: string) => Promise<Sender>;
    /**
     * An S3 Control client for a region: the access points for directory buckets the component creates (their scope
     * and policy). Without it those are not checked.
     */
    s3controlFor?: (region: string) => Sender;
    /** An S3 client (explain --live reads bucket policies with it). */
    s3?: Sender;
    /** With a canary runner, a Job per tenant checks the access from inside a pod. */
    canary?: { kube: CanaryKube; options: CanaryOptions; signal?: AbortSignal };
}

export interface VerifyFinding {
    stack: string;
    /** The tenant (namespace), or for checks of a shared role, the role group and how many tenants it serves. */
    tenant: string;
    check: string;
    ok: boolean;
    message: string;
    fix?: string;
}

/** What the deployed stack exports per tenant (programs/environment.ts). */
export interface DeployedTenant {
    roleArn: string;
    /** The role group (component) serving the tenant; tenants of a shared role have the same one. */
    role?: string;
    /** The role in the buckets' account, for tenants with assetsDeployRoleArn. */
    assetsRoleArn?: string;
}

/** A probe name no tenant uses: the "someone else" in "admits exactly". */
const PROBE = "ray-s3-access-probe";
const POD_IDENTITY_AGENT = POD_IDENTITY_PRINCIPAL;

function errorName(error: unknown): string {
    return (error as { name?: string })?.name ?? "";
}

function isNoSuchEntity(error: unknown): boolean {
    return errorName(error) === "NoSuchEntityException" || errorName(error) === "NoSuchEntity";
}

function decode(document: string | undefined): unknown {
    return document === undefined ? undefined : JSON.parse(decodeURIComponent(document));
}

function arnParts(arn: string): { partition: string; account: string; name: string } {
    const parts = arn.split(":");
    return { partition: parts[1], account: parts[4], name: arn.split("/").pop()! };
}

function stringOf(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

/** Tenants served by one deployed role. */
interface RoleGroupUnderTest {
    label: string;
    roleArn: string;
    tenants: TenantConfig[];
    assetsRoleArn?: string;
}

class Recorder {
    readonly findings: VerifyFinding[] = [];
    /** Clusters whose Pod Identity agent was checked (once per cluster, however many roles use it). */
    readonly agentClusters = new Set<string>();
    constructor(private readonly stack: string) {}
    add(tenant: string, check: string, ok: boolean, message: string, fix?: string): boolean {
        this.findings.push({ stack: this.stack, tenant, check, ok, message, fix: ok ? undefined : fix });
        return ok;
    }
}

async function getRole(iam: Sender, roleName: string): Promise<any | undefined> {
    try {
        return (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
    } catch (error) {
        if (isNoSuchEntity(error)) return undefined;
        throw error;
    }
}

/** Is some customer-managed policy attached to the role equal, as a document, to the expected one? */
async function attachedPolicyMatches(iam: Sender, roleName: string, expected: PolicyDocument): Promise<{ matching: boolean; attached: number }> {
    const attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? [];
    for (const policy of attached) {
        if (!policy.PolicyArn || policy.PolicyArn.includes(":iam::aws:policy/")) continue;
        const meta = await iam.send(new GetPolicyCommand({ PolicyArn: policy.PolicyArn }));
        const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: policy.PolicyArn, VersionId: meta.Policy?.DefaultVersionId }));
        if (isDeepStrictEqual(decode(version.PolicyVersion?.Document), expected)) return { matching: true, attached: attached.length };
    }
    return { matching: false, attached: attached.length };
}

function listOf(values: string[]): string {
    return values.join(", ");
}

/** A cluster the role serves: the primary one, or an entry of additionalClusters. */
interface ClusterUnderTest {
    clusterName?: string;
    oidcProviderArn?: string;
    oidcIssuerUrl?: string;
    region: string;
    /** "" for the primary cluster, " (cluster NAME)" for the others: appended to check messages. */
    label: string;
}

function eksClient(clients: VerifyClients, region: string): Sender {
    return region !== clients.region && clients.eksFor ? clients.eksFor(region) : clients.eks;
}

/** Only the trust's statements for one OIDC provider (to ask what that cluster's tokens get). */
function statementsFor(trust: unknown, providerArn: string): unknown {
    const document = trust as { Statement?: unknown };
    const list = Array.isArray(document?.Statement) ? document.Statement : [document?.Statement];
    return { ...document, Statement: list.filter((s: any) => [s?.Principal?.Federated].flat().includes(providerArn)) };
}

async function verifyIrsaTrust(
    stack: string,
    group: RoleGroupUnderTest,
    trust: unknown,
    subjects: ServiceAccountRef[],
    clusters: ClusterUnderTest[],
    clients: VerifyClients,
    out: Recorder,
): Promise<void> {
    const expected = subjects.map(serviceAccountSubject).sort();
    const missing = expected.filter((subject) => !trustAdmitsSubject(trust, subject).admits);
    const admitted = [...new Set(trustAdmitsSubject(trust, "\u0000").admitted)].sort();
    const wildcard = admitted.some((value) => /[*?]/.test(value));
    const extra = admitted.filter((value) => !expected.includes(value));
    const ok = missing.length === 0 && extra.length === 0 && !wildcard;
    const problems = [
        ...(missing.length ? [`does not admit ${listOf(missing)}`] : []),
        ...(extra.length || wildcard ? [`also admits ${listOf(extra) || "any service account"}`] : []),
    ];
    out.add(
        group.label,
        "trust",
        ok,
        ok
            ? `trust admits exactly ${expected.length > 3 ? `the ${expected.length} service accounts of its tenants` : listOf(expected)}`
            : `trust ${problems.join(" and ")}`,
        `the role's trust was changed outside the stack: run \`ray-s3-access up --stack ${stack}\` (or \`refresh\` then \`up\`) to restore it`,
    );
    const trusted = [...new Set(allowStatements(trust).flatMap((s) => principalValues(s.principal, "Federated")))];
    const { partition, account } = arnParts(group.roleArn);
    const expectedProviders: string[] = [];
    for (const [index, cluster] of clusters.entries()) {
        // The provider this cluster's tokens come through: configured, derived from the issuer, or (the primary
        // cluster, found by name only) the one the trust names.
        let issuerOfCluster: string | undefined;
        if (cluster.clusterName) {
            const described = await eksClient(clients, cluster.region).send(new DescribeClusterCommand({ name: cluster.clusterName }));
            issuerOfCluster = issuerHostPath(described.cluster?.identity?.oidc?.issuer ?? "");
        }
        const derive = (issuer: string) => `arn:${partition}:iam::${account}:oidc-provider/${issuer}`;
        const providerArn =
            cluster.oidcProviderArn ??
            (cluster.oidcIssuerUrl ? derive(issuerHostPath(cluster.oidcIssuerUrl)) : index > 0 && issuerOfCluster ? derive(issuerOfCluster) : trusted[0]);
        if (!providerArn) continue;
        expectedProviders.push(providerArn);
        if (clusters.length > 1) {
            const through = statementsFor(trust, providerArn);
            const notAdmitted = expected.filter((subject) => !trustAdmitsSubject(through, subject).admits);
            out.add(
                group.label,
                "trust-cluster",
                notAdmitted.length === 0,
                notAdmitted.length === 0
                    ? `trust admits the service accounts through ${providerArn}${cluster.label}`
                    : `trust does not admit ${listOf(notAdmitted)} through ${providerArn}${cluster.label}: those pods fail with "Not authorized to perform sts:AssumeRoleWithWebIdentity"`,
                `run \`ray-s3-access up --stack ${stack}\` to write one trust statement per cluster`,
            );
        }
        let provider: any;
        try {
            provider = await clients.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }));
        } catch (error) {
            if (!isNoSuchEntity(error)) throw error;
            out.add(
                group.label,
                "oidc-provider",
                false,
                `OIDC provider ${providerArn} does not exist${cluster.label}`,
                "create it (ray-s3-access:createOidcProvider: true, or eksctl utils associate-iam-oidc-provider) and run up",
            );
            continue;
        }
        const audienceOk = (provider.ClientIDList ?? []).includes("sts.amazonaws.com");
        out.add(
            group.label,
            "oidc-provider",
            audienceOk,
            audienceOk ? `OIDC provider ${providerArn} exists${cluster.label}` : `OIDC provider ${providerArn} does not list the audience sts.amazonaws.com`,
            "add sts.amazonaws.com to the provider's audiences (aws iam add-client-id-to-open-id-connect-provider)",
        );
        if (cluster.clusterName && issuerOfCluster !== undefined) {
            // Does the trust name this cluster's issuer at all (whatever the config says the provider is)?
            const matches = trusted.some((arn) => issuerFromProviderArn(arn) === issuerOfCluster);
            out.add(
                group.label,
                "oidc-issuer",
                matches,
                matches
                    ? `the provider is cluster ${cluster.clusterName}'s issuer`
                    : `the role trusts ${listOf(trusted.map(issuerFromProviderArn))}, but cluster ${cluster.clusterName}'s issuer is ${issuerOfCluster}`,
                'set ray-s3-access:oidcProviderArn to the cluster\'s provider (or createOidcProvider) and run up; pods fail with "Not authorized to perform sts:AssumeRoleWithWebIdentity" until then',
            );
        }
    }
    const foreign = clusters.length > 1 ? trusted.filter((arn) => !expectedProviders.includes(arn)) : [];
    if (foreign.length > 0) {
        out.add(
            group.label,
            "trust-cluster",
            false,
            `trust also admits tokens of ${listOf(foreign)}, a provider of no listed cluster`,
            `the trust was changed outside the stack, or a cluster was dropped from additionalClusters: run \`ray-s3-access up --stack ${stack}\``,
        );
    }
}

/** What EKS Pod Identity asks STS for when a pod of `ref` on `cluster` in `account` starts. */
function agentRequest(partition: string, account: string, region: string, cluster: string, ref: ServiceAccountRef): AssumeRequest {
    const clusterArn = `arn:${partition}:eks:${region}:${account}:cluster/${cluster}`;
    return {
        principal: { kind: "Service", value: POD_IDENTITY_AGENT },
        actions: ["sts:AssumeRole", "sts:TagSession"],
        context: {
            "aws:SourceAccount": account,
            "aws:SourceArn": clusterArn,
            "aws:RequestTag/eks-cluster-name": cluster,
            "aws:RequestTag/eks-cluster-arn": clusterArn,
            "aws:RequestTag/kubernetes-namespace": ref.namespace,
            "aws:RequestTag/kubernetes-service-account": ref.name,
        },
    };
}

function verifyPodIdentityTrust(
    stack: string,
    group: RoleGroupUnderTest,
    trust: unknown,
    subjects: ServiceAccountRef[],
    cluster: string,
    region: string,
    shared: boolean | "untagged",
    out: Recorder,
): void {
    const { partition, account } = arnParts(group.roleArn);
    const untagged = shared === "untagged";
    const request = (ref: ServiceAccountRef, overrides: { cluster?: string; account?: string } = {}): AssumeRequest => {
        const full = agentRequest(partition, overrides.account ?? account, region, overrides.cluster ?? cluster, ref);
        // Session tags off: EKS sends no aws:RequestTag/... keys.
        return untagged ? { ...full, context: Object.fromEntries(Object.entries(full.context).filter(([k]) => !k.startsWith("aws:RequestTag/"))) } : full;
    };
    const missing = subjects.filter((ref) => !trustAdmitsRequest(trust, request(ref)));
    const first = subjects[0];
    const otherAccount = account === "111111111111" ? "222222222222" : "111111111111";
    // Who must not get in: pods of another cluster or account, and (unless the role is shared by session
    // tags) other service accounts of the same cluster.
    const intruders: [string, AssumeRequest][] = [
        // Without session tags nothing names the cluster: only another account must stay out.
        ...(untagged ? [] : ([[`pods of another cluster (${PROBE})`, request(first, { cluster: PROBE })]] as [string, AssumeRequest][])),
        [`pods of another account (${otherAccount})`, request(first, { account: otherAccount })],
        ...(shared
            ? []
            : ([
                  [`service account ${first.namespace}/${PROBE}`, request({ namespace: first.namespace, name: PROBE })],
                  [`namespace ${PROBE}`, request({ namespace: PROBE, name: first.name })],
              ] as [string, AssumeRequest][])),
    ];
    const admitted = intruders.filter(([, r]) => trustAdmitsRequest(trust, r)).map(([who]) => who);
    const ok = missing.length === 0 && admitted.length === 0;
    const problems = [
        ...(missing.length
            ? [`does not admit the Pod Identity agent of cluster ${cluster} for ${listOf(missing.map((r) => `${r.namespace}/${r.name}`))}`]
            : []),
        ...(admitted.length ? [`also admits ${listOf(admitted)}`] : []),
    ];
    out.add(
        group.label,
        "trust",
        ok,
        ok
            ? untagged
                ? `trust admits the Pod Identity agent of account ${account} (session tags off: any association of the account that names the role), and no other account`
                : shared
                  ? `trust admits the Pod Identity agent of cluster ${cluster} in account ${account}, and nothing else`
                  : `trust admits the Pod Identity agent for exactly ${subjects.length > 3 ? `the ${subjects.length} service accounts of its tenants` : listOf(subjects.map((r) => `${r.namespace}/${r.name}`))}`
            : `trust ${problems.join(" and ")}`,
        missing.length
            ? `run \`ray-s3-access up --stack ${stack}\`; the trust needs sts:AssumeRole and sts:TagSession for ${POD_IDENTITY_AGENT}`
            : `the trust is not pinned (aws:SourceAccount, aws:RequestTag/eks-cluster-name${shared ? "" : ", kubernetes-namespace, kubernetes-service-account"}): run \`ray-s3-access up --stack ${stack}\` to restore it`,
    );
}

async function verifyAssociations(
    stack: string,
    group: RoleGroupUnderTest,
    subjects: { tenant: string; ref: ServiceAccountRef }[],
    cluster: string,
    clients: VerifyClients,
    out: Recorder,
    expect: { disableSessionTags?: boolean; sessionPolicyOf?: (tenant: string) => PolicyDocument } = {},
): Promise<void> {
    for (const { tenant, ref } of subjects) {
        const listed = await clients.eks.send(
            new ListPodIdentityAssociationsCommand({ clusterName: cluster, namespace: ref.namespace, serviceAccount: ref.name }),
        );
        const summaries: any[] = listed.associations ?? [];
        let found: any;
        for (const summary of summaries) {
            const described = await clients.eks.send(new DescribePodIdentityAssociationCommand({ clusterName: cluster, associationId: summary.associationId }));
            if (described.association?.roleArn === group.roleArn) found = described.association;
        }
        const targetOk = !found || (found.targetRoleArn ?? undefined) === group.assetsRoleArn;
        if (found && (expect.disableSessionTags || expect.sessionPolicyOf)) {
            const expected = expect.sessionPolicyOf?.(tenant);
            const tagsOk = !expect.disableSessionTags || found.disableSessionTags === true;
            const policyOk = expected === undefined || (typeof found.policy === "string" && isDeepStrictEqual(JSON.parse(found.policy), expected));
            out.add(
                tenant,
                "session-policy",
                tagsOk && policyOk,
                tagsOk && policyOk
                    ? `association ${ref.namespace}/${ref.name} has session tags off${expected ? " and its own session policy" : ""}`
                    : `association ${ref.namespace}/${ref.name} ${[...(tagsOk ? [] : ["has session tags on"]), ...(policyOk ? [] : [found.policy ? "carries another session policy" : "carries no session policy, so its pods get the whole shared role"])].join(" and ")}`,
                `run \`ray-s3-access up --stack ${stack}\` to restore the association`,
            );
        }
        out.add(
            tenant,
            "pod-identity-association",
            !!found && targetOk,
            !found
                ? `no Pod Identity association on ${cluster} gives ${ref.namespace}/${ref.name} this role (${summaries.length} other association(s))`
                : targetOk
                  ? `Pod Identity association ${ref.namespace}/${ref.name} uses the role${group.assetsRoleArn ? ` and chains into ${group.assetsRoleArn}` : ""}`
                  : `Pod Identity association ${ref.namespace}/${ref.name} targets ${found.targetRoleArn ?? "no role"}, not the assets role ${group.assetsRoleArn ?? "(none)"}`,
            `run \`ray-s3-access up --stack ${stack}\`; check that the eks-pod-identity-agent add-on is installed`,
        );
    }
}

/**
 * The cluster runs the Pod Identity agent: the `eks-pod-identity-agent` add-on ACTIVE with no health issue, or EKS Auto
 * Mode (which runs it itself). Without it associations do nothing and pods fall back to the node role.
 */
async function verifyPodIdentityAgent(stack: string, cluster: string, eks: Sender, out: Recorder, label: string): Promise<void> {
    if (out.agentClusters.has(cluster)) return;
    out.agentClusters.add(cluster);
    const create =
        `aws eks create-addon --cluster-name ${cluster} --addon-name ${POD_IDENTITY_AGENT_ADDON} ` +
        `(or ray-s3-access:podIdentityAgent: "create" and \`ray-s3-access up --stack ${stack}\`), then restart the pods`;
    let addon: any;
    try {
        addon = (await eks.send(new DescribeAddonCommand({ clusterName: cluster, addonName: POD_IDENTITY_AGENT_ADDON }))).addon;
    } catch (error) {
        if ((error as { name?: string })?.name !== "ResourceNotFoundException") {
            out.add(
                label,
                "pod-identity-agent",
                false,
                `could not read the ${POD_IDENTITY_AGENT_ADDON} add-on of cluster ${cluster}: ${(error as Error)?.message ?? String(error)}`,
                `allow eks:DescribeAddon and eks:DescribeCluster to the identity verify runs as`,
            );
            return;
        }
        const described = await eks.send(new DescribeClusterCommand({ name: cluster }));
        const autoMode = described.cluster?.computeConfig?.enabled === true;
        out.add(
            label,
            "pod-identity-agent",
            autoMode,
            autoMode
                ? `cluster ${cluster} is in EKS Auto Mode, which runs the Pod Identity agent itself`
                : `cluster ${cluster} has no ${POD_IDENTITY_AGENT_ADDON} add-on and is not in EKS Auto Mode: its Pod Identity associations do nothing, and pods fall back to the node role or get no credentials`,
            create,
        );
        return;
    }
    const issues: { code?: string; message?: string }[] = addon?.health?.issues ?? [];
    const status: string = addon?.status ?? "UNKNOWN";
    const ok = status === "ACTIVE" && issues.length === 0;
    const settling = status === "CREATING" || status === "UPDATING";
    out.add(
        label,
        "pod-identity-agent",
        ok,
        ok
            ? `${POD_IDENTITY_AGENT_ADDON} ${addon?.addonVersion ?? ""} is ACTIVE on cluster ${cluster}`.replace("  ", " ")
            : `${POD_IDENTITY_AGENT_ADDON} on cluster ${cluster} is ${status}${issues.length ? `: ${issues.map((i) => `${i.code ?? "issue"}: ${i.message ?? ""}`.trim()).join("; ")}` : ""}; pods on nodes without a healthy agent get no Pod Identity credentials`,
        settling
            ? `wait until it is ACTIVE (aws eks wait addon-active --cluster-name ${cluster} --addon-name ${POD_IDENTITY_AGENT_ADDON}) and verify again`
            : `aws eks describe-addon --cluster-name ${cluster} --addon-name ${POD_IDENTITY_AGENT_ADDON} lists the health issues; fix them, then aws eks update-addon --cluster-name ${cluster} --addon-name ${POD_IDENTITY_AGENT_ADDON} --resolve-conflicts OVERWRITE`,
    );
}

async function verifyServiceAccounts(
    group: RoleGroupUnderTest,
    subjects: { tenant: string; ref: ServiceAccountRef }[],
    clients: VerifyClients,
    out: Recorder,
    annotated = true,
): Promise<void> {
    if (!clients.readServiceAccount) return;
    for (const { tenant, ref } of subjects) {
        const sa = await clients.readServiceAccount(ref.namespace, ref.name);
        const annotation = sa?.annotations?.[IRSA_ROLE_ANNOTATION];
        if (!annotated) {
            // The migration's second step: the annotation must be gone, or restarted pods keep using IRSA.
            out.add(
                tenant,
                "service-account",
                annotation === undefined,
                annotation === undefined
                    ? `ServiceAccount ${ref.namespace}/${ref.name} carries no role annotation: restarted pods use Pod Identity`
                    : `ServiceAccount ${ref.namespace}/${ref.name} is still annotated with ${annotation}: its pods keep using IRSA`,
                `run \`ray-s3-access up\` (annotateServiceAccount: false removes it), or kubectl annotate sa -n ${ref.namespace} ${ref.name} eks.amazonaws.com/role-arn-, then restart the pods`,
            );
            continue;
        }
        out.add(
            tenant,
            "service-account",
            annotation === group.roleArn,
            annotation === group.roleArn
                ? `ServiceAccount ${ref.namespace}/${ref.name} is annotated with the role`
                : sa
                  ? `ServiceAccount ${ref.namespace}/${ref.name} is annotated with ${annotation ?? "no role"}`
                  : `ServiceAccount ${ref.namespace}/${ref.name} does not exist`,
            `kubectl annotate sa -n ${ref.namespace} ${ref.name} --overwrite eks.amazonaws.com/role-arn=${group.roleArn}, then restart the pods (the webhook acts at pod creation)`,
        );
    }
}

/** The assets role in the buckets' account: exists, trusts only the workload role, holds the S3 policy. */
async function verifyAssetsRole(
    stack: string,
    group: RoleGroupUnderTest,
    tenant: TenantConfig,
    chain: ChainOptions,
    s3Policy: PolicyDocument,
    clients: VerifyClients,
    out: Recorder,
): Promise<void> {
    const label = group.label;
    if (!group.assetsRoleArn) {
        out.add(
            label,
            "assets-role",
            false,
            `stack ${stack} exports no assets role for tenant ${tenant.namespace}`,
            `run \`ray-s3-access up --stack ${stack}\``,
        );
        return;
    }
    if (!clients.assetsIam) {
        out.add(
            label,
            "assets-role",
            false,
            `no credentials for the buckets' account to check ${group.assetsRoleArn}`,
            `make ${tenant.assetsDeployRoleArn} assumable from your credentials`,
        );
        return;
    }
    const iam = await clients.assetsIam(tenant.assetsDeployRoleArn!);
    const { name, account, partition } = arnParts(group.assetsRoleArn);
    const role = await getRole(iam, name);
    if (
        !out.add(
            label,
            "assets-role",
            !!role,
            role ? `assets role ${group.assetsRoleArn} exists` : `assets role ${group.assetsRoleArn} does not exist`,
            `run \`ray-s3-access up --stack ${stack}\``,
        )
    )
        return;
    const trust = decode(role.AssumeRolePolicyDocument);
    const actions = [chainActions(chain)].flat();
    // IRSA's profile passes assetsExternalId; Pod Identity passes each association's own id, which the trust lists.
    const listed = allowStatements(trust).flatMap((st) => st.conditions.filter((c) => c.key.toLowerCase() === "sts:externalid").flatMap((c) => c.values));
    const requiresId = chain.externalId !== undefined;
    const externalId: string | undefined = typeof chain.externalId === "string" ? chain.externalId : listed[0];
    const from = (principal: string, withExternalId = true): AssumeRequest => ({
        principal: { kind: "AWS", value: principal },
        actions,
        context: externalId && withExternalId ? { "sts:ExternalId": externalId } : {},
    });
    const workloadAccount = arnParts(group.roleArn).account;
    const otherAccount = [workloadAccount, account].includes("111111111111") ? "222222222222" : "111111111111";
    const admitsWorkload = trustAdmitsRequest(trust, from(group.roleArn));
    const intruders: [string, AssumeRequest][] = [
        [`another role of the workload's account`, from(`arn:${partition}:iam::${workloadAccount}:role/${PROBE}`)],
        [`another role of the buckets' account`, from(`arn:${partition}:iam::${account}:role/${PROBE}`)],
        [`a role of another account`, from(`arn:${partition}:iam::${otherAccount}:role/${PROBE}`)],
        ...(requiresId ? ([[`the workload role without the external id`, from(group.roleArn, false)]] as [string, AssumeRequest][]) : []),
    ];
    const admitted = intruders.filter(([, r]) => trustAdmitsRequest(trust, r)).map(([who]) => who);
    out.add(
        label,
        "assets-trust",
        admitsWorkload && admitted.length === 0,
        admitsWorkload && admitted.length === 0
            ? `the assets role trusts only the workload role ${group.roleArn}${requiresId ? " (with the external id)" : ""}`
            : `the assets role's trust ${[...(admitsWorkload ? [] : [`does not admit the workload role ${group.roleArn}`]), ...(admitted.length ? [`also admits ${listOf(admitted)}`] : [])].join(" and ")}`,
        `the trust was changed outside the stack: run \`ray-s3-access up --stack ${stack}\` to restore it`,
    );
    const { matching, attached } = await attachedPolicyMatches(iam, name, s3Policy);
    out.add(
        label,
        "assets-permissions",
        matching,
        matching
            ? "the assets role's S3 policy matches the stack's"
            : `no policy attached to the assets role matches the stack's S3 policy (${attached} attached)`,
        `the policy was edited or detached outside the stack: run \`ray-s3-access up --stack ${stack}\``,
    );
}

/** The session policy a tenant's association carries under roleSharing "sessionPolicy": its own buckets. */
function sessionPolicyFor(config: StackConfig, tenant: string, partition: string, location: BucketLocation): PolicyDocument {
    const entry = config.tenants.find((t) => t.namespace === tenant)!;
    return buildS3PermissionsPolicy(partition, validateArgs(tenant, tenantArgs(config, entry)).buckets, {}, location);
}

const componentNames = new WeakMap<StackConfig, Map<string, string>>();

/**
 * The name of the RayS3Access that serves a tenant (the namespace, or its shared role's group): what the component
 * derives names from, such as the default name of an access point it creates.
 */
function componentNameOf(config: StackConfig, tenant: TenantConfig): string {
    let names = componentNames.get(config);
    if (!names) {
        names = new Map(roleGroups(config).flatMap((group) => group.tenants.map((t) => [t.namespace, group.name] as const)));
        componentNames.set(config, names);
    }
    return names.get(tenant.namespace) ?? tenant.namespace;
}

/**
 * The S3 prefixes a tenant's pod should be able to list, as `bucket/prefix`: what the pod names as the bucket, which
 * is an access point's ARN for a general-purpose access point and an access point's name for a directory bucket's.
 */
function canaryTargets(config: StackConfig, tenant: TenantConfig): string[] {
    const valid = validateArgs(componentNameOf(config, tenant), tenantArgs(config, tenant)).buckets;
    const base = config.roleSharing === "abac" ? `${tenant.namespace}/` : "";
    return valid.flatMap((bucket) => {
        const named = bucket.accessPoint?.arn ?? bucket.directory?.accessPoint?.name ?? bucket.bucket;
        return (bucket.prefixes.length ? bucket.prefixes : [""]).map((prefix) => `${named}/${base}${prefix}`);
    });
}

async function verifyGroup(stack: string, config: StackConfig, group: RoleGroupUnderTest, clients: VerifyClients, out: Recorder): Promise<void> {
    const first = group.tenants[0];
    const args = tenantArgs(config, first);
    const identity = args.identity ?? "irsa";
    const cluster = args.clusterName === undefined ? undefined : String(args.clusterName);
    const { partition, name: roleName } = arnParts(group.roleArn);
    const subjects = group.tenants.flatMap((tenant) => tenantSubjects(config, tenant).map((ref) => ({ tenant: tenant.namespace, ref })));
    const refs = subjects.map((s) => s.ref);

    const role = await getRole(clients.iam, roleName);
    const shared = group.tenants.length > 1 ? ` (shared by ${group.tenants.length} tenants)` : "";
    if (
        !out.add(
            group.label,
            "role",
            !!role,
            role ? `role ${group.roleArn} exists${shared}` : `role ${roleName} does not exist`,
            `run \`ray-s3-access up --stack ${stack}\`, or check that the stack's outputs are from this account`,
        )
    )
        return;
    const trust = decode(role.AssumeRolePolicyDocument);

    const strategy = identityStrategy(identity);
    const migrating = identity === "irsaAndPodIdentity";
    const region = clients.region ?? "us-west-2";
    // Directory buckets named without their ARN are in the stack's region and the role's account.
    const location = { region, account: arnParts(group.roleArn).account };
    const clusters: ClusterUnderTest[] = [
        { clusterName: cluster, oidcProviderArn: stringOf(args.oidcProviderArn), oidcIssuerUrl: stringOf(args.oidcIssuerUrl), region, label: "" },
        ...(first.additionalClusters ?? config.additionalClusters ?? []).map((c) => ({
            ...c,
            region: c.region ?? region,
            label: ` (cluster ${c.clusterName ?? c.oidcProviderArn ?? c.oidcIssuerUrl})`,
        })),
    ];
    if (strategy.webIdentity) {
        await verifyIrsaTrust(stack, group, trust, refs, clusters, clients, out);
        await verifyServiceAccounts(group, subjects, clients, out, args.annotateServiceAccount !== false);
    }
    if (migrating && clients.listPods) {
        // Pods created before the association keep IRSA until they restart; Pod Identity alone (the next step)
        // would refuse them at their next credential refresh.
        for (const { tenant, ref } of subjects) {
            const pods = await clients.listPods(ref.namespace, ref.name);
            const stale = pods.filter((p) => p.webIdentity).map((p) => p.name);
            out.add(
                tenant,
                "pods",
                stale.length === 0,
                stale.length === 0
                    ? `no pod of ${ref.namespace}/${ref.name} still uses IRSA (${pods.length} running)`
                    : `${stale.length} pod(s) of ${ref.namespace}/${ref.name} still use IRSA (created before the association): ${listOf(stale.slice(0, 5))}${stale.length > 5 ? ", ..." : ""}`,
                `restart them (kubectl rollout restart, or recreate the RayCluster) so they get Pod Identity, before identity "podIdentity" drops IRSA from the trust`,
            );
        }
    }
    if (strategy.podIdentity) {
        for (const c of clusters) {
            const untagged = config.roleSharing === "sessionPolicy" || args.disableSessionTags === true;
            verifyPodIdentityTrust(stack, group, trust, refs, c.clusterName!, c.region, untagged ? "untagged" : config.roleSharing === "abac", out);
            await verifyAssociations(stack, group, subjects, c.clusterName!, { ...clients, eks: eksClient(clients, c.region) }, out, {
                disableSessionTags: untagged,
                sessionPolicyOf: config.roleSharing === "sessionPolicy" ? (tenant) => sessionPolicyFor(config, tenant, partition, location) : undefined,
            });
            // The agent, once per cluster: associations do nothing without it.
            if (config.podIdentityAgent !== "ignore") await verifyPodIdentityAgent(stack, c.clusterName!, eksClient(clients, c.region), out, group.label);
        }
    }

    // The S3 policy the stack would attach, compared as documents (not strings).
    // A sessionPolicy role holds every tenant's buckets (the union); each association narrows it.
    const named = validateArgs(
        componentNameOf(config, first),
        config.roleSharing === "sessionPolicy" ? { ...args, buckets: unionOfBuckets(group.tenants.flatMap((t) => t.buckets)) } : args,
    ).buckets;
    // Access points named by alias: the ARNs the component looked up, among the account's access points in the region.
    const aliases = await withAliasArns(named, location, clients);
    if (!aliases || aliases.missing.length > 0) {
        out.add(
            group.label,
            "permissions",
            false,
            aliases
                ? `no access point of account ${location.account} in ${location.region} has the alias ${aliases.missing.map((a) => `"${a}"`).join(", ")}`
                : `the stack names access points by alias, and this run cannot look their ARNs up (no S3 Control client)`,
            aliases
                ? `check the alias in the stack (an access point of another account or region cannot be named by alias: give its ARN)`
                : `give the access points' ARNs in the stack`,
        );
        return;
    }
    const buckets = aliases.buckets;
    const s3Policy = buildS3PermissionsPolicy(
        partition,
        buckets,
        config.roleSharing === "abac" ? abacScope(clusters.map((c) => c.clusterName!)) : {},
        location,
    );
    // Pod Identity alone pins each association's external id in the assets role's trust.
    const chain: ChainOptions = { tagSession: strategy.podIdentity, externalId: identity === "podIdentity" ? [] : first.assetsExternalId };
    const expected = first.assetsDeployRoleArn && group.assetsRoleArn ? buildAssumeAssetsPolicy(group.assetsRoleArn, chain) : s3Policy;
    const { matching, attached } = await attachedPolicyMatches(clients.iam, roleName, expected);
    out.add(
        group.label,
        "permissions",
        matching,
        matching
            ? first.assetsDeployRoleArn
                ? "the workload role may only assume the assets role, as the stack says"
                : "the attached S3 policy matches the stack's"
            : `no attached policy matches the stack's ${first.assetsDeployRoleArn ? "assume-the-assets-role" : "S3"} policy (${attached} attached)`,
        `the policy was edited or detached outside the stack: run \`ray-s3-access up --stack ${stack}\``,
    );
    if (first.assetsDeployRoleArn) await verifyAssetsRole(stack, group, first, chain, s3Policy, clients, out);
    await verifyAccessPoints(stack, group, buckets, partition, location, clients, out);
}

/**
 * The buckets with each access point alias replaced by its ARN, from S3 Control's list of the account's access
 * points in the region (as the component looks them up), and the aliases no access point has. Undefined when
 * aliases need a client this run does not have.
 */
async function withAliasArns(
    buckets: ResolvedBucketAccess[],
    location: BucketLocation,
    clients: VerifyClients,
): Promise<{ buckets: ResolvedBucketAccess[]; missing: string[] } | undefined> {
    if (!buckets.some((b) => b.accessPoint?.alias !== undefined)) return { buckets, missing: [] };
    if (!clients.s3controlFor) return undefined;
    const s3control = clients.s3controlFor(location.region);
    const byAlias = new Map<string, string>();
    let NextToken: string | undefined;
    do {
        const page = await s3control.send(new ListAccessPointsCommand({ AccountId: location.account, NextToken }));
        for (const point of page.AccessPointList ?? []) {
            if (point.Alias && point.AccessPointArn) byAlias.set(point.Alias, point.AccessPointArn);
        }
        NextToken = page.NextToken;
    } while (NextToken);
    return withAccessPointArns(buckets, (alias) => byAlias.get(alias));
}

/** What S3 Control answers for a missing access point (or its policy). */
function isNoSuchAccessPoint(error: unknown): boolean {
    const name = (error as { name?: string; Code?: string }).name ?? (error as { Code?: string }).Code;
    return name === "NoSuchAccessPoint" || name === "NoSuchAccessPointPolicy" || name === "NotFound";
}

/**
 * The access points for directory buckets the component created (`createAccessPoint`): each exists, its scope holds
 * the stack's prefixes and operations (no more), and its policy admits the role as the stack writes it.
 */
async function verifyAccessPoints(
    stack: string,
    group: RoleGroupUnderTest,
    buckets: ResolvedBucketAccess[],
    partition: string,
    location: BucketLocation,
    clients: VerifyClients,
    out: Recorder,
): Promise<void> {
    if (!clients.s3controlFor) return;
    const fix = `the access point was changed or deleted outside the stack: run \`ray-s3-access up --stack ${stack}\``;
    for (const bucket of buckets.filter((b) => b.directory?.accessPoint?.create)) {
        const name = bucket.directory!.accessPoint!.name;
        const AccountId = bucket.directory!.account ?? location.account;
        const s3control = clients.s3controlFor(bucket.directory!.region ?? location.region);
        let scope: { Prefixes?: string[]; Permissions?: string[] };
        try {
            scope = (await s3control.send(new GetAccessPointScopeCommand({ AccountId, Name: name }))).Scope ?? {};
        } catch (error) {
            if (!isNoSuchAccessPoint(error)) throw error;
            out.add(group.label, "access-point", false, `access point ${name} (directory bucket ${bucket.bucket}) does not exist`, fix);
            continue;
        }
        let policy: unknown;
        try {
            policy = decode((await s3control.send(new GetAccessPointPolicyCommand({ AccountId, Name: name }))).Policy);
        } catch (error) {
            if (!isNoSuchAccessPoint(error)) throw error;
        }
        const expected = directoryAccessPointScope(bucket);
        const have = { prefixes: scope.Prefixes ?? [], permissions: scope.Permissions ?? [] };
        // What one list holds that the other lacks, as "prefix P" / "operation O".
        const outside = (from: typeof have, of: typeof have) => [
            ...from.prefixes.filter((p) => !of.prefixes.includes(p)).map((p) => `prefix ${p}`),
            ...from.permissions.filter((p) => !of.permissions.includes(p)).map((p) => `operation ${p}`),
        ];
        // An empty scope list means no limit: every prefix, or every operation.
        const wider = [
            ...outside({ prefixes: [...have.prefixes].sort(), permissions: [...have.permissions].sort() }, expected),
            ...(have.prefixes.length === 0 ? ["every prefix (no prefixes in its scope)"] : []),
            ...(have.permissions.length === 0 ? ["every operation (no permissions in its scope)"] : []),
        ];
        const narrower = outside(expected, have);
        const expectedPolicy = buildDirectoryAccessPointPolicy(partition, bucket, group.roleArn, location);
        const policyMatches = isDeepStrictEqual(policy, expectedPolicy);
        const problems = [
            ...(wider.length > 0 ? [`its scope also lets through ${wider.join(", ")}`] : []),
            ...(narrower.length > 0 ? [`its scope lacks ${narrower.join(", ")}`] : []),
            ...(policyMatches ? [] : [policy === undefined ? "it has no policy" : "its policy is not the stack's (it should admit only the role)"]),
        ];
        out.add(
            group.label,
            "access-point",
            problems.length === 0,
            problems.length === 0
                ? `access point ${name} on ${bucket.bucket}: scope ${JSON.stringify(expected.prefixes)} with ${expected.permissions.length} operations, policy admits the role`
                : `access point ${name} on ${bucket.bucket}: ${problems.join("; ")}`,
            fix,
        );
    }
}

/** The canary target of a tenant: its first service account, the role its pod should end up as. */
function canaryTarget(config: StackConfig, tenant: TenantConfig, deployed: DeployedTenant, region: string | undefined): CanaryTarget {
    const args = tenantArgs(config, tenant);
    // The migration: once the association exists, EKS's webhook gives new pods Pod Identity, not IRSA (an
    // association takes precedence over the annotation), and the canary's pod is new.
    const migrating = args.identity === "irsaAndPodIdentity";
    const identity = args.identity === "irsa" ? "irsa" : "podIdentity";
    const serviceAccountName = String(args.serviceAccountName);
    const crossAccount = !!tenant.assetsDeployRoleArn && !!deployed.assetsRoleArn;
    return {
        namespace: tenant.namespace,
        serviceAccountName,
        identity,
        expectedSource: migrating ? identity : undefined,
        targets: canaryTargets(config, tenant),
        expectedRoleArn: crossAccount ? deployed.assetsRoleArn! : deployed.roleArn,
        // IRSA chains through the component's ConfigMap profile; Pod Identity chains inside EKS.
        env: crossAccount && identity === "irsa" ? chainedEnvironment() : undefined,
        awsConfigMap: crossAccount && identity === "irsa" ? `${serviceAccountName}-aws-config` : undefined,
        region,
    };
}

/** Verifies every role of a stack and the tenants it serves; with `clients.canary`, one canary Job per tenant. */
export async function verifyStack(
    stack: string,
    config: StackConfig,
    tenants: Record<string, DeployedTenant>,
    clients: VerifyClients,
    options: { canaryConcurrency?: number } = {},
): Promise<VerifyFinding[]> {
    const out = new Recorder(stack);
    const groups = new Map<string, RoleGroupUnderTest>();
    for (const tenant of config.tenants) {
        const deployed = tenants[tenant.namespace];
        if (!deployed?.roleArn) {
            out.add(
                tenant.namespace,
                "outputs",
                false,
                `stack ${stack} exports no role for tenant ${tenant.namespace}`,
                `run \`ray-s3-access up --stack ${stack}\``,
            );
            continue;
        }
        const group = groups.get(deployed.roleArn) ?? { label: "", roleArn: deployed.roleArn, tenants: [], assetsRoleArn: deployed.assetsRoleArn };
        group.tenants.push(tenant);
        groups.set(deployed.roleArn, group);
    }
    for (const group of groups.values()) {
        const name = tenants[group.tenants[0].namespace].role ?? arnParts(group.roleArn).name;
        group.label = group.tenants.length === 1 ? group.tenants[0].namespace : `${name} (${group.tenants.length} tenants)`;
        await verifyGroup(stack, config, group, clients, out);
    }
    if (clients.canary) {
        const { kube, options: canaryOptions, signal } = clients.canary;
        const ready = config.tenants.filter((t) => tenants[t.namespace]?.roleArn);
        const results: CanaryResult[] = await pooled(ready, options.canaryConcurrency ?? 4, (tenant) =>
            runCanary(kube, canaryTarget(config, tenant, tenants[tenant.namespace], clients.region), canaryOptions, signal),
        );
        ready.forEach((tenant, i) => out.add(tenant.namespace, "canary", results[i].ok, results[i].message, results[i].fix));
    }
    return out.findings;
}

/**
 * `VerifyClients.assetsIam` from STS: assumes the role the program deploys the assets account with (read-only
 * calls only follow) and builds an IAM client with those credentials.
 */
export function assetsIamThrough(
    sts: Sender,
    makeIam: (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) => Sender,
): (deployRoleArn: string) => Promise<Sender> {
    const cache = new Map<string, Promise<Sender>>();
    return (deployRoleArn) => {
        if (!cache.has(deployRoleArn)) {
            cache.set(
                deployRoleArn,
                (async () => {
                    const { AssumeRoleCommand } = await import("@aws-sdk/client-sts");
                    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: deployRoleArn, RoleSessionName: "ray-s3-access-verify" }))).Credentials;
                    return makeIam({ accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken });
                })(),
            );
        }
        return cache.get(deployRoleArn)!;
    };
}
