/**
 * One tenant of a stack: its RayS3Access and, by kind, what its platform needs besides (the Kubeflow
 * Profile with the AwsIamForServiceAccount plugin, SkyPilot's remote-identity setting).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RayS3Access } from "../components";
import { StackConfig, TenantConfig, tenantArgs } from "./config";

/**
 * The ~/.sky/config.yaml lines a SkyPilot tenant needs: run pods as the tenant's service account, and do not
 * upload local AWS credentials (the pods get theirs from IRSA / Pod Identity).
 */
export function skypilotConfig(serviceAccountName: string): string {
    return `kubernetes:\n  remote_identity: ${serviceAccountName}\naws:\n  remote_identity: NO_UPLOAD\n`;
}

export interface TenantOutputs {
    kind: string;
    roleArn: pulumi.Output<string>;
    policyArn: pulumi.Output<string>;
    namespace: pulumi.Output<string>;
    serviceAccountName: pulumi.Output<string>;
    /** What to set in the tenant's platform, if anything (SkyPilot's ~/.sky/config.yaml). */
    setup?: string;
}

/** Creates a tenant's resources; `name` is the resource-name prefix (the namespace). */
export function createTenant(
    config: StackConfig,
    tenant: TenantConfig,
    clusterOidcProviderArn: pulumi.Input<string> | undefined,
    opts: pulumi.ComponentResourceOptions = {},
): TenantOutputs {
    const args = tenantArgs(config, tenant, clusterOidcProviderArn);
    const access = new RayS3Access(tenant.namespace, args, opts);
    if (tenant.kind === "kubeflowProfile") {
        const irsa = args.identity !== "podIdentity";
        new k8s.apiextensions.CustomResource(
            `${tenant.namespace}-profile`,
            {
                apiVersion: "kubeflow.org/v1",
                kind: "Profile",
                metadata: { name: tenant.namespace },
                spec: {
                    owner: { kind: "User", name: tenant.owner },
                    // annotateOnly: the plugin annotates default-editor and leaves the role's trust to us.
                    plugins: irsa ? [{ kind: "AwsIamForServiceAccount", spec: { awsIamRole: access.roleArn, annotateOnly: true } }] : [],
                },
            },
            { ...opts, dependsOn: [access] },
        );
    }
    return {
        kind: tenant.kind,
        roleArn: access.roleArn,
        policyArn: access.policyArn,
        namespace: access.namespace,
        serviceAccountName: access.serviceAccountName,
        setup: tenant.kind === "skypilot" ? skypilotConfig(String(args.serviceAccountName)) : undefined,
    };
}
