import { NormalizedStatement } from "../lib/documents";
import { BUCKET_ADMIN_ACTIONS, DIRECTORY_BUCKET_ADMIN_ACTIONS } from "../lib/bucketAdmin";
import { spelled } from "../lib/actions";
import { analyseDocument, namesEveryBucket } from "../lib/grants";
import { BUCKET_ADMIN_MANAGED_POLICIES, DIRECTORY_BUCKET_ADMIN_MANAGED_POLICIES } from "../lib/managedPolicies.generated";
import { attachedPolicyArns, managedPolicyName, grantingDocuments } from "../lib/resources";
import { Finding, gradedResourceRule, productionLevel } from "../lib/rule";

export { BUCKET_ADMIN_ACTIONS };

function listed(actions: readonly string[]): string {
    return actions.slice(0, 6).map(spelled).join(", ") + (actions.length > 6 ? `, and ${actions.length - 6} more` : "");
}

/** The statement's Resource patterns that name every bucket (as the statement writes them), or its NotResource. */
function everyBucketResource(statement: NormalizedStatement): string {
    if (statement.resources === undefined) return `NotResource ${JSON.stringify(statement.notResources)}`;
    const patterns = statement.resources.filter(namesEveryBucket);
    return `Resource ${patterns.length === 1 ? JSON.stringify(patterns[0]) : JSON.stringify(patterns)}`;
}

/**
 * Checks that identity policies grant workloads no bucket-admin action and no S3 action on every bucket, judged
 * on what the statements really grant (resource types, Deny), and that no attached AWS managed policy grants
 * bucket-admin actions.
 */
export const noBucketAdminForWorkloads = gradedResourceRule({
    name: "no-bucket-admin-for-workloads",
    description:
        "Checks that identity policies grant no bucket-admin S3 action (bucket policy, ACLs, deletion, lifecycle, encryption, " +
        'object-lock bypass, ...) and no bucket or object action on Resource "*" (every bucket), and attach no AWS managed policy that does.',
    check: async (resource, context) => {
        const findings: Finding[] = [];
        for (const carried of grantingDocuments(resource).filter((d) => d.kind === "identity")) {
            const analysis = await analyseDocument(carried.document, carried.kind);
            // Directory-bucket admin actions of a statement with no S3 grants; the others are reported with its S3 ones.
            const expressGrants = new Map(analysis.s3express.map((g) => [g.statement, g.granted]));
            const expressAdmin = (statement: NormalizedStatement) => DIRECTORY_BUCKET_ADMIN_ACTIONS.filter((a) => expressGrants.get(statement)?.has(a));
            for (const { statement, onEveryBucket } of analysis.s3express.filter((g) => !analysis.s3.some((s3) => s3.statement === g.statement))) {
                const where = `${resource.type} "${resource.name}" ${carried.where} statement ${statement.label}`;
                const admin = expressAdmin(statement);
                if (admin.length > 0) {
                    findings.push({
                        level: productionLevel(context),
                        message: `${where}: grants directory-bucket admin actions (${listed(admin)}). Workload roles must not change a directory bucket's policy, lifecycle, encryption or access points.`,
                    });
                }
                if (onEveryBucket.length > 0) {
                    findings.push({
                        level: productionLevel(context),
                        message: `${where}: grants S3 Express actions (${listed(onEveryBucket)}) on ${everyBucketResource(statement)}, every directory bucket it can reach. List the directory bucket ARNs instead.`,
                    });
                }
            }
            for (const { statement, granted, onEveryBucket } of analysis.s3) {
                const where = `${resource.type} "${resource.name}" ${carried.where} statement ${statement.label}`;
                const admin = [...BUCKET_ADMIN_ACTIONS.filter((a) => granted.has(a)), ...expressAdmin(statement)];
                if (admin.length > 0) {
                    findings.push({
                        level: productionLevel(context),
                        message: `${where}: grants bucket-admin actions (${listed(admin)}). Workload roles must not change bucket policy, ACLs, protections or lifecycle; leave that to the platform team's role.`,
                    });
                }
                if (onEveryBucket.length > 0) {
                    findings.push({
                        level: productionLevel(context),
                        message: `${where}: grants S3 actions (${listed(onEveryBucket)}) on ${everyBucketResource(statement)}, every bucket in every account. List the bucket ARNs and bucket/prefix* object ARNs instead.`,
                    });
                }
            }
        }
        for (const { where, arn } of attachedPolicyArns(resource)) {
            const name = managedPolicyName(arn);
            const admin =
                name === undefined ? undefined : [...(BUCKET_ADMIN_MANAGED_POLICIES[name] ?? []), ...(DIRECTORY_BUCKET_ADMIN_MANAGED_POLICIES[name] ?? [])];
            if (admin !== undefined && admin.length > 0) {
                findings.push({
                    level: productionLevel(context),
                    message: `${resource.type} "${resource.name}" ${where}: attaches ${arn}, which grants bucket-admin actions (${listed(admin)}). Workload roles must not change bucket policy, ACLs, protections or lifecycle.`,
                });
            }
        }
        return findings;
    },
});
