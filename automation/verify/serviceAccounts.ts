/**
 * IRSA's ServiceAccount annotations.
 */
import { IRSA_ROLE_ANNOTATION } from "../../components/constants";
import { ServiceAccountRef } from "../../components/trustPolicy";
import { VerifyClients, RoleGroupUnderTest, Recorder } from "./shared";

export async function verifyServiceAccounts(
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
