import { strict as assert } from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { RayS3Access } from "../components";
import { resetMocks, settle, useStack, valueOf } from "./support/mocks";

/**
 * Other languages consume the component through the schema Pulumi's analyzer derives from the TypeScript
 * source (`pulumi package add`). This builds it in-process, the same way the plugin host does, and fails when
 * the analyzer rejects the args.
 */
describe("component schema (pulumi package add)", () => {
    let schema: any;
    let provider: ComponentProvider;

    before(async function () {
        this.timeout(120000);
        provider = new ComponentProvider({
            components: [RayS3Access],
            dirname: path.join(__dirname, "..", "components"),
            name: "ray-s3-access",
        });
        schema = JSON.parse(await provider.getSchema());
    });

    it("describes RayS3Access under its type token with every documented input and output", () => {
        const resource = schema.resources["ray-s3-access:index:RayS3Access"];
        assert.ok(resource, "the component is in the schema");
        assert.equal(resource.isComponent, true);
        const inputs = Object.keys(resource.inputProperties).sort();
        assert.deepEqual(inputs, [
            "additionalClusters",
            "additionalPolicyArns",
            "additionalServiceAccounts",
            "annotateServiceAccount",
            "assetsExternalId",
            "assetsProvider",
            "buckets",
            "clusterName",
            "createOidcProvider",
            "disableSessionTags",
            "identity",
            "manageServiceAccount",
            "maxSessionDuration",
            "mountpointVolumes",
            "namespace",
            "oidcIssuerUrl",
            "oidcProviderArn",
            "permissionsBoundaryArn",
            "podIdentityAgent",
            "roleName",
            "rolePath",
            "roleSharing",
            "serviceAccountName",
            "sessionPolicies",
            "tags",
            "trustPolicyMaxLength",
            "webIdentityToken",
        ]);
        assert.deepEqual([...resource.requiredInputs].sort(), ["buckets", "namespace"]);
        assert.deepEqual(Object.keys(resource.properties).sort(), [
            "assetsRoleArn",
            "namespace",
            "oidcProviderArn",
            "permissionsPolicy",
            "podEnvironment",
            "podIdentityAssociationId",
            "policyArn",
            "roleArn",
            "roleName",
            "serviceAccountName",
            "trustPolicy",
        ]);
    });

    it("carries the TSDoc descriptions and the string enums other languages need", () => {
        const resource = schema.resources["ray-s3-access:index:RayS3Access"];
        assert.match(resource.inputProperties.clusterName.description, /EKS cluster/);
        const identityRef: string = resource.inputProperties.identity.$ref;
        const identityType = schema.types[identityRef.replace("#/types/", "")];
        assert.deepEqual(identityType.enum.map((e: any) => e.value).sort(), ["irsa", "irsaAndPodIdentity", "podIdentity"]);
        // Other languages get the additional clusters as an object type, with the provider as a resource reference.
        const clusterRef: string = resource.inputProperties.additionalClusters.items.$ref;
        const clusterType = schema.types[clusterRef.replace("#/types/", "")];
        assert.deepEqual(Object.keys(clusterType.properties).sort(), ["clusterName", "oidcIssuerUrl", "oidcProviderArn", "provider"]);
        assert.equal(clusterType.properties.provider.$ref, resource.inputProperties.assetsProvider.$ref);
        const bucketRef: string = resource.inputProperties.buckets.items.$ref;
        const bucketType = schema.types[bucketRef.replace("#/types/", "")];
        assert.deepEqual(Object.keys(bucketType.properties).sort(), [
            "access",
            "accessPointName",
            "allowDelete",
            "bucket",
            "createAccessPoint",
            "expressCache",
            "kind",
            "kmsKeyArns",
            "prefixes",
        ]);
        assert.deepEqual(bucketType.required, ["bucket"]);
    });

    it("the plugin host's construct returns every schema output as an Output with its value", async () => {
        resetMocks();
        useStack("dev");
        const providerArn = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123";
        const inputs = { namespace: "ray", oidcProviderArn: providerArn, buckets: [{ bucket: "ckpt-bucket", prefixes: ["checkpoints/"] }] };
        const constructed = await provider.construct("ray", "ray-s3-access:index:RayS3Access", inputs as any, {});
        const state = constructed.state as Record<string, unknown>;
        const outputs = Object.keys(schema.resources["ray-s3-access:index:RayS3Access"].properties).sort();
        assert.deepEqual(Object.keys(state).sort(), outputs);
        for (const key of outputs) {
            assert.ok(pulumi.Output.isInstance(state[key]), `${key} is an Output, got ${typeof state[key]}`);
        }
        const values = await valueOf(pulumi.all(state as Record<string, pulumi.Output<unknown>>));
        await settle();
        assert.equal(values.namespace, "ray");
        assert.equal(values.serviceAccountName, "ray-s3-sa");
        assert.equal(values.oidcProviderArn, providerArn);
        assert.equal(values.podIdentityAssociationId, "");
        assert.equal(values.assetsRoleArn, "");
        assert.deepEqual(values.podEnvironment, {});
        assert.match(values.trustPolicy as string, /system:serviceaccount:ray:ray-s3-sa/);
        assert.match(values.permissionsPolicy as string, /ckpt-bucket\/checkpoints\/\*/);
        assert.match(values.roleArn as string, /^arn:aws:iam::/);
    });

    it("outputs built on first read stay the same Output on later reads", () => {
        resetMocks();
        useStack("dev");
        const component = new RayS3Access("again", {
            namespace: "ray",
            oidcProviderArn: "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123",
            buckets: [{ bucket: "ckpt-bucket" }],
        });
        assert.equal(component.trustPolicy, component.trustPolicy);
        assert.equal(component.namespace, component.namespace);
        assert.ok(Object.keys(component).includes("trustPolicy"), "a read output is an own, enumerable property");
    });
});
