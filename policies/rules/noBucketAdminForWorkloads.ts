import { grantedActions } from "../lib/actions";
import { allowStatements } from "../lib/documents";
import { permissionDocuments } from "../lib/resources";
import { Finding, gradedResourceRule, productionLevel } from "../lib/rule";

/** S3 actions that administer a bucket or its protections rather than use its data. */
export const BUCKET_ADMIN_ACTIONS = [
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutAccountPublicAccessBlock",
    "s3:PutBucketObjectLockConfiguration",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:PutLifecycleConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutReplicationConfiguration",
    "s3:PutBucketCORS",
    "s3:PutBucketWebsite",
    "s3:PutBucketLogging",
].map((a) => a.toLowerCase());

/**
 * Checks that identity policies grant workloads no bucket-admin action and no S3 action on `Resource: "*"`.
 */
export const noBucketAdminForWorkloads = gradedResourceRule({
    name: "no-bucket-admin-for-workloads",
    description:
        "Checks that identity policies grant no bucket-admin S3 action (bucket policy, ACLs, deletion, lifecycle, encryption, " +
        'object-lock bypass, ...) and no S3 action on Resource "*".',
    check: async (resource, context) => {
        const findings: Finding[] = [];
        for (const carried of permissionDocuments(resource).filter((d) => d.kind === "identity")) {
            for (const statement of allowStatements(carried.document)) {
                const s3 = await grantedActions("s3", statement);
                if (s3.length === 0) continue;
                const where = `${resource.type} "${resource.name}" ${carried.where} statement ${statement.label}`;
                const admin = s3.filter((a) => BUCKET_ADMIN_ACTIONS.includes(a));
                if (admin.length > 0) {
                    const shown = admin.slice(0, 6).join(", ") + (admin.length > 6 ? `, and ${admin.length - 6} more` : "");
                    findings.push({
                        level: productionLevel(context),
                        message: `${where}: grants bucket-admin actions (${shown}). Workload roles must not change bucket policy, ACLs, protections or lifecycle; leave that to the platform team's role.`,
                    });
                }
                if (statement.resources.some((r) => r === "*" || /^arn:[a-z-]+:s3:::\*$/.test(r))) {
                    findings.push({
                        level: productionLevel(context),
                        message: `${where}: grants S3 actions on Resource "*" (every bucket in every account). List the bucket ARNs and bucket/prefix* object ARNs instead.`,
                    });
                }
            }
        }
        return findings;
    },
});
