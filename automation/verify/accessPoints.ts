/**
 * Access points: aliases looked up, and the access points for directory buckets the component creates (scope and policy).
 */
import { isDeepStrictEqual } from "util";
import { GetAccessPointPolicyCommand, GetAccessPointScopeCommand, ListAccessPointsCommand } from "@aws-sdk/client-s3-control";
import {
    BucketLocation,
    buildDirectoryAccessPointPolicy,
    directoryAccessPointScope,
    ResolvedBucketAccess,
    withAccessPointArns,
} from "../../components/s3Policy";
import { VerifyClients, decode, RoleGroupUnderTest, Recorder } from "./shared";

/**
 * The buckets with each access point alias replaced by its ARN, from S3 Control's list of the account's access
 * points in the region (as the component looks them up), and the aliases no access point has. Undefined when
 * aliases need a client this run does not have.
 */
export async function withAliasArns(
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
export function isNoSuchAccessPoint(error: unknown): boolean {
    const name = (error as { name?: string; Code?: string }).name ?? (error as { Code?: string }).Code;
    return name === "NoSuchAccessPoint" || name === "NoSuchAccessPointPolicy" || name === "NotFound";
}

/**
 * The access points for directory buckets the component created (`createAccessPoint`): each exists, its scope holds
 * the stack's prefixes and operations (no more), and its policy admits the role as the stack writes it.
 */
export async function verifyAccessPoints(
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
