/**
 * Role sharing across tenants (`ray-s3-access:roleSharing`): which tenants share which role.
 *
 * - `perTenant`: one role per tenant.
 * - `abac` (Pod Identity): one role for every tenant; namespaces are isolated by session tags.
 * - `packed` (IRSA): tenants with identical permissions share roles whose trust lists all their service
 *   accounts, packed first-fit in config order under the trust-policy quota (measured as IAM does), so
 *   appending a tenant never moves an existing one.
 */
import { buildIrsaTrustPolicy, serviceAccountSubject } from "../components/trustPolicy";
import { iamPolicyLength } from "../components/s3Policy";
import { shortHash } from "../components/names";
import type { PlainBucketAccess as BucketAccess } from "../components/validation";
import { roleGroupKey } from "../components/validation/combinations";
import { sharingArgs, StackConfig, TenantConfig, tenantSubjects } from "./config";

/** One role of the stack and the tenants it serves. */
export interface RoleGroup {
    /** The RayS3Access component's name. */
    name: string;
    tenants: TenantConfig[];
}

/**
 * What must be equal for tenants to share a packed role: every option the sharing matrix says groups (clusters, token,
 * storage kinds, access levels, deletes, caches, role settings), everything but who they are.
 */
export function permissionSignature(config: StackConfig, tenant: TenantConfig): string {
    return roleGroupKey(sharingArgs(config, tenant));
}

/** The longest issuer EKS writes, for trusts whose issuer is looked up at deployment. */
const LONGEST_ISSUER = "https://oidc.eks.xx-xxxxxxxxx-1.amazonaws.com/id/XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";

/**
 * The OIDC provider ARNs (or stand-ins of the same length) a tenant's packed trust names, one per cluster: its
 * primary's, then each additional cluster's; a cluster whose issuer is looked up at deployment counts with the longest
 * issuer EKS writes.
 */
export function tenantProviderArns(config: StackConfig, tenant: TenantConfig): string[] {
    const args = sharingArgs(config, tenant);
    const arnOf = (cluster: { oidcProviderArn?: unknown; oidcIssuerUrl?: unknown }) =>
        typeof cluster.oidcProviderArn === "string"
            ? cluster.oidcProviderArn
            : `arn:aws-us-gov:iam::000000000000:oidc-provider/${(typeof cluster.oidcIssuerUrl === "string" ? cluster.oidcIssuerUrl : LONGEST_ISSUER).replace(/^https:\/\//, "").replace(/\/+$/, "")}`;
    return [arnOf(args), ...(args.additionalClusters ?? []).map(arnOf)];
}

/**
 * The length IAM counts (no white space) of a packed role's trust, kept as the role fills: the trust is one statement
 * per provider, each listing the subjects (unique, sorted: a string for one, a list for several), so its length is a
 * constant part plus, per provider, the list's. Measured once on a real trust per group; a test compares it with
 * the whole document's length on random sets.
 */
class TrustLength {
    private readonly constant: number;
    constructor(
        private readonly providers: number,
        providerArns: string[],
    ) {
        const probe = "system:serviceaccount:a:b";
        this.constant = iamPolicyLength(buildIrsaTrustPolicy(providerArns, [{ namespace: "a", name: "b" }])) - providers * (probe.length + 2);
    }
    /** The trust's length with `count` unique subjects whose quoted lengths sum to `quoted`. */
    of(count: number, quoted: number): number {
        if (count === 0) return this.constant;
        const list = count === 1 ? quoted : quoted + 2 + (count - 1);
        return this.constant + this.providers * list;
    }
}

/** Roles in a segment tree of their room left, so the first role with room for a tenant is found in O(log roles). */
class FirstFit {
    private tree: number[] = [0];
    private size = 1;
    count = 0;
    private grow(): void {
        const old = this.tree;
        const oldSize = this.size;
        this.size *= 2;
        this.tree = new Array(2 * this.size).fill(-Infinity);
        for (let i = 0; i < oldSize; i++) this.tree[this.size + i] = old[oldSize + i] ?? -Infinity;
        for (let i = this.size - 1; i >= 1; i--) this.tree[i] = Math.max(this.tree[2 * i], this.tree[2 * i + 1]);
    }
    push(room: number): number {
        if (this.count === this.size) this.grow();
        this.set(this.count, room);
        return this.count++;
    }
    set(index: number, room: number): void {
        let i = this.size + index;
        this.tree[i] = room;
        for (i >>= 1; i >= 1; i >>= 1) this.tree[i] = Math.max(this.tree[2 * i], this.tree[2 * i + 1]);
    }
    /** The first role at or after `from` with at least `need` room, or -1. */
    first(need: number, from = 0): number {
        const search = (node: number, lo: number, hi: number): number => {
            if (hi < from || this.tree[node] < need || lo >= this.count) return -1;
            if (lo === hi) return lo;
            const mid = (lo + hi) >> 1;
            const left = search(2 * node, lo, mid);
            return left >= 0 ? left : search(2 * node + 1, mid + 1, hi);
        };
        return this.count === 0 ? -1 : search(1, 0, this.size - 1);
    }
}

/** Tenants packed between two yields to the event loop. */
const TENANTS_PER_TURN = 2_000;

/**
 * Packs tenants into IRSA roles, first fit in config order (appending a tenant never moves an existing one). Tenants
 * share a role only when their signatures are equal, so the members of a group have the same clusters: each role's
 * trust is measured with them, against `quota` (the trust-policy limit in characters without white space), as it
 * fills, and the first role with room is found in a segment tree: O(n log n) in tenants. `yieldEvery` lets the async
 * caller hear Ctrl-C between batches.
 */
export function packTenants(config: StackConfig, tenants: TenantConfig[], quota: number): RoleGroup[] {
    const packer = new Packer(config, quota);
    for (const tenant of tenants) packer.add(tenant);
    return packer.groups();
}

/** The same, yielding to the event loop every few thousand tenants (the environment program's). */
export async function packTenantsAsync(config: StackConfig, tenants: TenantConfig[], quota: number): Promise<RoleGroup[]> {
    const packer = new Packer(config, quota);
    for (const [index, tenant] of tenants.entries()) {
        if (index > 0 && index % TENANTS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
        packer.add(tenant);
    }
    return packer.groups();
}

interface PackedRole {
    tenants: TenantConfig[];
    subjects: Set<string>;
    quoted: number;
}

class Packer {
    private readonly bySignature = new Map<string, { id: string; length: TrustLength; roles: PackedRole[]; fit: FirstFit }>();
    constructor(
        private readonly config: StackConfig,
        private readonly quota: number,
    ) {}

    add(tenant: TenantConfig): void {
        const signature = permissionSignature(this.config, tenant);
        let group = this.bySignature.get(signature);
        if (!group) {
            const arns = tenantProviderArns(this.config, tenant);
            group = { id: shortHash(signature), length: new TrustLength(new Set(arns).size, arns), roles: [], fit: new FirstFit() };
            this.bySignature.set(signature, group);
        }
        const subjects = [...new Set(tenantSubjects(this.config, tenant).map(serviceAccountSubject))];
        const quoted = subjects.reduce((n, s) => n + s.length + 2, 0);
        const { length, roles, fit } = group;
        // A lower bound of what the tenant adds to any role (its subjects and their commas); each candidate is then
        // measured exactly, as the whole trust would be.
        const need = quoted + subjects.length;
        const fits = (role: PackedRole) => {
            const fresh = subjects.filter((s) => !role.subjects.has(s));
            const count = role.subjects.size + fresh.length;
            const added = fresh.reduce((n, s) => n + s.length + 2, 0);
            return length.of(count, role.quoted + added) <= this.quota;
        };
        const roomOf = (role: PackedRole) => this.quota - length.of(role.subjects.size, role.quoted);
        let index = fit.first(need);
        while (index >= 0 && !fits(roles[index])) index = fit.first(need, index + 1);
        if (index < 0) {
            const role: PackedRole = { tenants: [], subjects: new Set(), quoted: 0 };
            if (!fits(role)) throw new Error(`tenant "${tenant.namespace}": its service accounts alone exceed the trust-policy quota of ${this.quota}`);
            roles.push(role);
            index = fit.push(roomOf(role));
        }
        const role = roles[index];
        role.tenants.push(tenant);
        for (const s of subjects) {
            if (!role.subjects.has(s)) {
                role.subjects.add(s);
                role.quoted += s.length + 2;
            }
        }
        fit.set(index, roomOf(role));
    }

    groups(): RoleGroup[] {
        const groups: RoleGroup[] = [];
        for (const { id, roles } of this.bySignature.values())
            roles.forEach((role, index) => groups.push({ name: `packed-${id}-${index}`, tenants: role.tenants }));
        return groups;
    }
}

/** The exact trust length of a packed role as the incremental measure sees it (for tests). */
export function packedTrustLength(providerArns: string[], subjects: string[]): number {
    const unique = [...new Set(subjects)];
    return new TrustLength(new Set(providerArns).size, providerArns).of(
        unique.length,
        unique.reduce((n, s) => n + s.length + 2, 0),
    );
}

/**
 * The least set of bucket entries that covers every given one: per bucket the widest access, the whole bucket if
 * any entry is, else every prefix, and every KMS key.
 */
export function unionOfBuckets(entries: BucketAccess[]): BucketAccess[] {
    const byBucket = new Map<
        string,
        { access: "read" | "readWrite" | "mountpoint"; allowDelete: boolean; prefixes: Set<string> | undefined; kmsKeyArns: Set<string> }
    >();
    for (const entry of entries) {
        const name = entry.bucket.replace(/^arn:[^:]+:s3:::/, "");
        const known = byBucket.get(name);
        const prefixes = entry.prefixes && entry.prefixes.length > 0 ? new Set(entry.prefixes) : undefined;
        if (!known) {
            byBucket.set(name, {
                access: entry.access ?? "readWrite",
                allowDelete: entry.allowDelete === true,
                prefixes,
                kmsKeyArns: new Set(entry.kmsKeyArns ?? []),
            });
            continue;
        }
        // read and mountpoint each lack something of the other; readWrite holds both.
        const access = entry.access ?? "readWrite";
        if (access !== known.access) known.access = "readWrite";
        known.allowDelete ||= entry.allowDelete === true;
        known.prefixes = known.prefixes && prefixes ? new Set([...known.prefixes, ...prefixes]) : undefined;
        for (const key of entry.kmsKeyArns ?? []) known.kmsKeyArns.add(key);
    }
    return [...byBucket].map(([bucket, e]) => ({
        bucket,
        access: e.access,
        ...(e.access === "mountpoint" && e.allowDelete ? { allowDelete: true } : {}),
        ...(e.prefixes ? { prefixes: [...e.prefixes].sort() } : {}),
        ...(e.kmsKeyArns.size > 0 ? { kmsKeyArns: [...e.kmsKeyArns].sort() } : {}),
    }));
}

/** The same, packing with yields to the event loop (the environment program: Ctrl-C is heard while it packs). */
export async function roleGroupsAsync(config: StackConfig): Promise<RoleGroup[]> {
    return config.roleSharing === "packed" ? packTenantsAsync(config, config.tenants, config.trustPolicyMaxLength) : roleGroups(config);
}

/** Which tenants share which role, per `ray-s3-access:roleSharing`; each group's name is its component's. */
export function roleGroups(config: StackConfig): RoleGroup[] {
    switch (config.roleSharing) {
        case "abac":
            return [{ name: "abac-shared", tenants: config.tenants }];
        case "sessionPolicy":
            return [{ name: "session-shared", tenants: config.tenants }];
        case "packed":
            return packTenants(config, config.tenants, config.trustPolicyMaxLength);
        default:
            return config.tenants.map((tenant) => ({ name: tenant.namespace, tenants: [tenant] }));
    }
}
