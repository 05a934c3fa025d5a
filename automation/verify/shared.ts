/**
 * Shared by the checks: the clients, findings and deployed outputs, the recorder, and small IAM helpers.
 */
import { GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { isDeepStrictEqual } from "util";
import { POD_IDENTITY_PRINCIPAL } from "../../components/constants";
import { PolicyDocument } from "../../components/s3Policy";
import { TenantConfig } from "../../programs/config";
import { CanaryKube, CanaryOptions } from "./canary";

export type Sender = { send(command: any): Promise<any> };

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
export const PROBE = "ray-s3-access-probe";

export const POD_IDENTITY_AGENT = POD_IDENTITY_PRINCIPAL;

export function errorName(error: unknown): string {
    return (error as { name?: string })?.name ?? "";
}

export function isNoSuchEntity(error: unknown): boolean {
    return errorName(error) === "NoSuchEntityException" || errorName(error) === "NoSuchEntity";
}

export function decode(document: string | undefined): unknown {
    return document === undefined ? undefined : JSON.parse(decodeURIComponent(document));
}

export function arnParts(arn: string): { partition: string; account: string; name: string } {
    const parts = arn.split(":");
    return { partition: parts[1], account: parts[4], name: arn.split("/").pop()! };
}

export function stringOf(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

/** Tenants served by one deployed role. */
export interface RoleGroupUnderTest {
    label: string;
    roleArn: string;
    tenants: TenantConfig[];
    assetsRoleArn?: string;
}

export class Recorder {
    readonly findings: VerifyFinding[] = [];
    /** Clusters whose Pod Identity agent was checked (once per cluster, however many roles use it). */
    readonly agentClusters = new Set<string>();
    constructor(private readonly stack: string) {}
    add(tenant: string, check: string, ok: boolean, message: string, fix?: string): boolean {
        this.findings.push({ stack: this.stack, tenant, check, ok, message, fix: ok ? undefined : fix });
        return ok;
    }
}

export async function getRole(iam: Sender, roleName: string): Promise<any | undefined> {
    try {
        return (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
    } catch (error) {
        if (isNoSuchEntity(error)) return undefined;
        throw error;
    }
}

/** A managed policy's default version, as a document. */
export async function managedPolicyDocument(iam: Sender, arn: string): Promise<unknown> {
    const meta = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
    const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: meta.Policy?.DefaultVersionId }));
    return decode(version.PolicyVersion?.Document);
}

/** Is some customer-managed policy attached to the role equal, as a document, to the expected one? */
export async function attachedPolicyMatches(iam: Sender, roleName: string, expected: PolicyDocument): Promise<{ matching: boolean; attached: number }> {
    const attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? [];
    for (const policy of attached) {
        if (!policy.PolicyArn || policy.PolicyArn.includes(":iam::aws:policy/")) continue;
        if (isDeepStrictEqual(await managedPolicyDocument(iam, policy.PolicyArn), expected)) return { matching: true, attached: attached.length };
    }
    return { matching: false, attached: attached.length };
}

export function listOf(values: string[]): string {
    return values.join(", ");
}

/** A cluster the role serves: the primary one, or an entry of additionalClusters. */
export interface ClusterUnderTest {
    clusterName?: string;
    oidcProviderArn?: string;
    oidcIssuerUrl?: string;
    region: string;
    /** "" for the primary cluster, " (cluster NAME)" for the others: appended to check messages. */
    label: string;
}

export function eksClient(clients: VerifyClients, region: string): Sender {
    return region !== clients.region && clients.eksFor ? clients.eksFor(region) : clients.eks;
}
