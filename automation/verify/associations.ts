/**
 * Pod Identity associations: one per service account per cluster, with the role, target role, session tags and session policy.
 */
import { DescribePodIdentityAssociationCommand, ListPodIdentityAssociationsCommand } from "@aws-sdk/client-eks";
import { isDeepStrictEqual } from "util";
import { PolicyDocument } from "../../components/s3Policy";
import { ServiceAccountRef } from "../../components/trustPolicy";
import { VerifyClients, RoleGroupUnderTest, Recorder } from "./shared";

export async function verifyAssociations(
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
