using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Qwen.Server.Tests.Deploy;

/// <summary>
/// deploy/inference-extension: every file validates (CRDs of GIE v1.5.0, Gateway API and Kubernetes schemas, the EPP's
/// config), broken manifests written here are refused with the expected message, the vendored CRDs are the released
/// files, and the manifests agree with each other (pool selector, ports, engine label, names).
/// </summary>
public sealed class InferenceExtensionTests
{
    private static string Folder => Path.Combine(RepoRoot.Path, "deploy", "inference-extension");

    private static string Crds => Path.Combine(RepoRoot.Path, "deploy", "validate", "crds");

    // A valid baseline of each custom or Gateway API kind; each negative case below breaks one thing in one of them.
    private const string Pool = """
        apiVersion: inference.networking.k8s.io/v1
        kind: InferencePool
        metadata:
          name: pool
          namespace: qwen
        spec:
          selector:
            matchLabels:
              app: qwen
          endpointPickerRef:
            name: epp
            port:
              number: 9002
            failureMode: FailOpen
          targetPorts:
            - number: 8000
        """;

    private const string PickerRef = """
          endpointPickerRef:
            name: epp
            port:
              number: 9002
            failureMode: FailOpen

        """;

    private const string Objective = """
        apiVersion: inference.networking.x-k8s.io/v1alpha2
        kind: InferenceObjective
        metadata:
          name: chat
          namespace: qwen
        spec:
          priority: 1
          poolRef:
            group: inference.networking.k8s.io
            name: pool
        """;

    private const string Route = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: route
          namespace: qwen
        spec:
          parentRefs:
            - name: gateway
          rules:
            - backendRefs:
                - group: inference.networking.k8s.io
                  kind: InferencePool
                  name: pool
        """;

    private const string EppConfigMap = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: epp
          namespace: qwen
        data:
          config.yaml: |
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            plugins:
              - type: queue-scorer
              - type: metrics-data-source
              - type: core-metrics-extractor
                parameters:
                  defaultEngine: qwen
                  engineConfigs:
                    - name: qwen
                      queuedRequestsSpec: qwen_requests_waiting
            schedulingProfiles:
              - name: default
                plugins:
                  - pluginRef: queue-scorer
            dataLayer:
              sources:
                - pluginRef: metrics-data-source
                  extractors:
                    - pluginRef: core-metrics-extractor
        """;

    private const string Deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: server
          namespace: qwen
        spec:
          selector:
            matchLabels:
              app: qwen
          template:
            metadata:
              labels:
                app: qwen
            spec:
              containers:
                - name: server
                  image: qwen-server
        """;

    private const string Kustomization = """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources:
          - deployment.yaml
        patches:
          - target:
              kind: Deployment
              name: server
            patch: |-
              - op: add
                path: /spec/template/metadata/labels/inference.networking.k8s.io~1engine-type
                value: qwen
        """;

    [Fact]
    public async Task EveryManifest_Validates()
    {
        var kindOverlay = Path.Combine(Folder, "kind", "kustomization.yaml"); // the walkthrough's overlay (deploy/README.md)
        var (exit, output) = await DeployValidator.RunAsync(Directory.GetFiles(Folder, "*.yaml").Append(kindOverlay));
        Assert.True(exit == 0, output);
        Assert.Contains($"OK {kindOverlay}: Kustomization", output, StringComparison.Ordinal);
        foreach (var kind in new[]
        {
            "inference.networking.k8s.io/v1/InferencePool", "inference.networking.x-k8s.io/v1alpha2/InferenceObjective",
            "gateway.networking.k8s.io/v1/GatewayClass", "gateway.networking.k8s.io/v1/Gateway", "gateway.networking.k8s.io/v1/HTTPRoute",
            "apps/v1/Deployment", "v1/Service", "v1/ServiceAccount", "rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/RoleBinding",
        })
        {
            Assert.Contains($": {kind} ", output, StringComparison.Ordinal);
        }
        Assert.Contains("v1/ConfigMap qwen-server-epp (EndpointPickerConfig in data.epp-config.yaml)", output, StringComparison.Ordinal);
        Assert.Contains("OK " + Path.Combine(Folder, "kustomization.yaml") + ": Kustomization", output, StringComparison.Ordinal);
        // The InferencePool CRD's two CEL rules are not run as CEL, and the report says which are checked in JS instead.
        Assert.Contains("2 CEL rule(s) in the CRD, not evaluated as CEL; checked in JS: spec.endpointPickerRef", output, StringComparison.Ordinal);
        Assert.DoesNotContain("unchecked:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Baselines_OfTheNegativeCases_Validate()
    {
        // Each broken manifest below differs from one of these by one edit, so its rejection is that edit's.
        foreach (var yaml in new[] { Pool, Objective, Route, EppConfigMap })
        {
            var (exit, output) = await ValidateAsync(("manifest.yaml", yaml));
            Assert.True(exit == 0, output);
        }
        var (kustomizeExit, kustomizeOutput) = await ValidateAsync(("kustomization.yaml", Kustomization), ("deployment.yaml", Deployment));
        Assert.True(kustomizeExit == 0, kustomizeOutput);
    }

    public static TheoryData<string, string> BrokenManifests => new()
    {
        { Pool.Replace(PickerRef, "", StringComparison.Ordinal), "spec.endpointPickerRef: Required value" },
        { Pool.Replace("- number: 8000", "- number: 70000", StringComparison.Ordinal), "spec.targetPorts[0].number: must be <= 65535" },
        { Pool.Replace("- number: 8000", "- number: 0", StringComparison.Ordinal), "spec.targetPorts[0].number: must be >= 1" },
        { Pool.Replace("    - number: 8000", string.Join('\n', Enumerable.Range(8000, 9).Select(p => $"    - number: {p}")), StringComparison.Ordinal), "spec.targetPorts: must NOT have more than 8 items" },
        { Pool.Replace("    - number: 8000", "    - number: 8000\n    - number: 8000", StringComparison.Ordinal), "spec.targetPorts: Invalid value: \"array\": port number must be unique" },
        { Pool.Replace("    port:\n      number: 9002\n", "", StringComparison.Ordinal), "spec.endpointPickerRef: Invalid value: \"object\": port is required when kind is 'Service' or unspecified" },
        { Pool.Replace("  targetPorts:", "  targetPort:", StringComparison.Ordinal), "unknown field \"spec.targetPort\"" },
        { Pool.Replace("    failureMode: FailOpen", "    failurMode: FailOpen", StringComparison.Ordinal), "unknown field \"spec.endpointPickerRef.failurMode\"" },
        { Pool.Replace("failureMode: FailOpen", "failureMode: FailSoft", StringComparison.Ordinal), "spec.endpointPickerRef.failureMode: must be equal to one of the allowed values (FailOpen, FailClose)" },
        { Pool.Replace("  namespace: qwen", "  namespce: qwen", StringComparison.Ordinal), "metadata.namespce is not a field of ObjectMeta" },
        { Pool.Replace("inference.networking.k8s.io/v1", "inference.networking.x-k8s.io/v1alpha2", StringComparison.Ordinal), "InferencePool is served as inference.networking.k8s.io/v1, not inference.networking.x-k8s.io/v1alpha2" },
        { Objective.Replace("  poolRef:\n    group: inference.networking.k8s.io\n    name: pool", "", StringComparison.Ordinal), "spec.poolRef: Required value" },
        { Objective.Replace("priority: 1", "priority: high", StringComparison.Ordinal), "spec.priority: must be integer" },
        { Route.Replace("    - backendRefs:", "    - backendRef:", StringComparison.Ordinal), "spec.rules[0].backendRef is not a field of HTTPRouteRule" },
        // parentRefs is declared on CommonRouteSpec, which HTTPRouteSpec extends: the field check follows the base.
        { Route.Replace("  parentRefs:", "  parentRef:", StringComparison.Ordinal), "spec.parentRef is not a field of HTTPRouteSpec" },
        { EppConfigMap.Replace("    dataLayer:", "    data:", StringComparison.Ordinal), "EndpointPickerConfig /: unknown field \"data\"" },
        { EppConfigMap.Replace("queuedRequestsSpec", "queuedRequestSpec", StringComparison.Ordinal), "/plugins/2/parameters/engineConfigs/0: unknown field \"queuedRequestSpec\"" },
        { EppConfigMap.Replace("defaultEngine: qwen", "defaultEngine: qwen2", StringComparison.Ordinal), "defaultEngine \"qwen2\" is not in engineConfigs" },
        { EppConfigMap.Replace("      - pluginRef: queue-scorer", "      - pluginRef: queue-scorr", StringComparison.Ordinal), "/schedulingProfiles/0/plugins/0: pluginRef \"queue-scorr\" names no plugin" },
        { EppConfigMap.Replace("  - type: queue-scorer", "  - type: queue-scorr", StringComparison.Ordinal), "plugin type \"queue-scorr\" is not registered in the EPP v1.5.0" },
    };

    [Theory]
    [MemberData(nameof(BrokenManifests))]
    public async Task BrokenManifest_IsRejected(string yaml, string expected)
    {
        var (exit, output) = await ValidateAsync(("manifest.yaml", yaml));
        Assert.True(exit == 1, output);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("  - deployment.yaml", "  - deployments.yaml", "resource deployments.yaml not found")]
    [InlineData("      name: server", "      name: servr", "patches[0]: target {\"kind\":\"Deployment\",\"name\":\"servr\"} matches no resource")]
    [InlineData("/metadata/labels/", "/metadata/label/", "patches[0][0]: add /spec/template/metadata/label/inference.networking.k8s.io~1engine-type: /spec/template/metadata/label not found in Deployment/server")]
    [InlineData("      - op: add", "      - op: put", "patches[0][0]: op must be one of")]
    public async Task BrokenKustomization_IsRejected(string original, string broken, string expected)
    {
        Assert.Contains(original, Kustomization, StringComparison.Ordinal);
        var (exit, output) = await ValidateAsync(("kustomization.yaml", Kustomization.Replace(original, broken, StringComparison.Ordinal)), ("deployment.yaml", Deployment));
        Assert.True(exit == 1, output);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VendoredCrds_AreTheReleasedFiles()
    {
        // The README's table records git's blob id of each file at the release's commit; recompute it from the copy here.
        var readme = await File.ReadAllTextAsync(Path.Combine(Crds, "README.md"));
        var rows = Regex.Matches(readme, @"^\| `([^`]+)` \| `[^`]+` \| `([0-9a-f]{40})` \|$", RegexOptions.Multiline);
        Assert.Equal(["LICENSE", "inference.networking.k8s.io_inferencepools.yaml", "inference.networking.x-k8s.io_inferenceobjectives.yaml"], rows.Select(r => r.Groups[1].Value).Order(StringComparer.Ordinal));
        foreach (Match row in rows)
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(Crds, row.Groups[1].Value));
            var blob = Encoding.ASCII.GetBytes($"blob {bytes.Length}\0").Concat(bytes).ToArray();
#pragma warning disable CA5350 // git names a blob by its SHA-1; nothing here relies on SHA-1 for security.
            Assert.Equal(row.Groups[2].Value, Convert.ToHexStringLower(SHA1.HashData(blob)));
#pragma warning restore CA5350
        }
        Assert.Equal(rows.Count + 1, Directory.GetFiles(Crds).Length); // the table lists every file but the README
    }

    [Fact]
    public async Task Manifests_AgreeWithEachOther_AndWithTheBaseDeployment()
    {
        var objects = await ObjectsAsync([Path.Combine(RepoRoot.Path, "deploy", "k8s", "deployment.yaml"), Path.Combine(RepoRoot.Path, "deploy", "k8s", "configmap.yaml"), .. Directory.GetFiles(Folder, "*.yaml")]);
        var server = objects.Single(o => Is(o, "Deployment", "qwen-server"));
        var pool = objects.Single(o => Is(o, "InferencePool", "qwen-server"));
        var epp = objects.Single(o => Is(o, "Deployment", "qwen-server-epp"));
        var eppService = objects.Single(o => Is(o, "Service", "qwen-server-epp"));
        var kustomization = objects.Single(o => o.GetProperty("kind").GetString() == "Kustomization");

        // The pool selects the Deployment's pods: every selector label is a pod label with the same value.
        var podLabels = server.GetProperty("spec").GetProperty("template").GetProperty("metadata").GetProperty("labels");
        foreach (var label in pool.GetProperty("spec").GetProperty("selector").GetProperty("matchLabels").EnumerateObject())
        {
            Assert.Equal(label.Value.GetString(), podLabels.GetProperty(label.Name).GetString());
        }
        Assert.Equal(Namespace(server), Namespace(pool));

        // Its one target port is the server container's port (where the EPP also scrapes /metrics).
        var container = server.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0];
        var targetPort = Assert.Single(pool.GetProperty("spec").GetProperty("targetPorts").EnumerateArray()).GetProperty("number").GetInt32();
        Assert.Contains(targetPort, container.GetProperty("ports").EnumerateArray().Select(p => p.GetProperty("containerPort").GetInt32()));

        // The EPP is started for this pool, and the pool's picker reference is the EPP Service's gRPC port, which the EPP container listens on.
        var eppContainer = epp.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0];
        var args = eppContainer.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToList();
        Assert.Equal(Name(pool), args[args.IndexOf("--pool-name") + 1]);
        Assert.Equal(Namespace(pool), args[args.IndexOf("--pool-namespace") + 1]);
        Assert.Equal("inference.networking.k8s.io", args[args.IndexOf("--pool-group") + 1]);
        Assert.DoesNotContain(args, a => a.StartsWith("--total-queued-requests-metric", StringComparison.Ordinal) || a.StartsWith("--kv-cache-usage-percentage-metric", StringComparison.Ordinal));
        var pickerRef = pool.GetProperty("spec").GetProperty("endpointPickerRef");
        Assert.Equal(Name(eppService), pickerRef.GetProperty("name").GetString());
        var servicePort = eppService.GetProperty("spec").GetProperty("ports").EnumerateArray().Single(p => p.GetProperty("port").GetInt32() == pickerRef.GetProperty("port").GetProperty("number").GetInt32());
        Assert.Contains(servicePort.GetProperty("targetPort").GetInt32(), eppContainer.GetProperty("ports").EnumerateArray().Select(p => p.GetProperty("containerPort").GetInt32()));

        // The EPP reads the config file the ConfigMap holds, at the path its volume is mounted on.
        var configFile = args[args.IndexOf("--config-file") + 1];
        var mount = Assert.Single(eppContainer.GetProperty("volumeMounts").EnumerateArray());
        var volume = epp.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("volumes").EnumerateArray().Single(v => v.GetProperty("name").GetString() == mount.GetProperty("name").GetString());
        var configMap = objects.Single(o => Is(o, "ConfigMap", volume.GetProperty("configMap").GetProperty("name").GetString()!));
        Assert.Equal(mount.GetProperty("mountPath").GetString() + "/" + Assert.Single(configMap.GetProperty("data").EnumerateObject()).Name, configFile);

        // The EPP runs as the service account the RoleBinding grants the Role to.
        var binding = objects.Single(o => o.GetProperty("kind").GetString() == "RoleBinding");
        var subject = Assert.Single(binding.GetProperty("subjects").EnumerateArray());
        Assert.Equal(epp.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("serviceAccountName").GetString(), subject.GetProperty("name").GetString());

        // The HTTPRoute sends to the pool, from the Gateway in the same folder.
        var route = objects.Single(o => o.GetProperty("kind").GetString() == "HTTPRoute");
        var backend = Assert.Single(Assert.Single(route.GetProperty("spec").GetProperty("rules").EnumerateArray()).GetProperty("backendRefs").EnumerateArray());
        Assert.Equal(("InferencePool", Name(pool)), (backend.GetProperty("kind").GetString(), backend.GetProperty("name").GetString()));
        var gateway = objects.Single(o => o.GetProperty("kind").GetString() == "Gateway");
        Assert.Equal(Name(gateway), Assert.Single(route.GetProperty("spec").GetProperty("parentRefs").EnumerateArray()).GetProperty("name").GetString());

        // The patch labels the pods with the engine whose metric names the extractor uses, under the label key it reads
        // (the extractor's default, inference.networking.k8s.io/engine-type, unless engineLabelKey says otherwise).
        var extractor = await ExtractorParametersAsync();
        var engine = extractor.GetProperty("defaultEngine").GetString();
        Assert.Contains(engine, extractor.GetProperty("engineConfigs").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        var labelKey = extractor.TryGetProperty("engineLabelKey", out var key) ? key.GetString() : "inference.networking.k8s.io/engine-type";
        var patch = Assert.Single(kustomization.GetProperty("patches").EnumerateArray());
        Assert.Equal(("Deployment", Name(server)), (patch.GetProperty("target").GetProperty("kind").GetString(), patch.GetProperty("target").GetProperty("name").GetString()));
        var operation = Regex.Match(patch.GetProperty("patch").GetString()!, @"- op: add\n\s+path: /spec/template/metadata/labels/(\S+)\n\s+value: (\S+)");
        Assert.True(operation.Success, patch.GetProperty("patch").GetString());
        Assert.Equal(labelKey, operation.Groups[1].Value.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
        Assert.Equal(engine, operation.Groups[2].Value);

        // The EPP cannot send an API key: /metrics must stay open in the base ConfigMap.
        var baseConfig = objects.Single(o => Is(o, "ConfigMap", "qwen-server-config"));
        Assert.Equal("false", baseConfig.GetProperty("data").GetProperty("QWEN_PROTECT_OPERATIONS").GetString());
    }

    /// <summary>The parameters of the core-metrics-extractor plugin in the EPP ConfigMap, as the validator parsed them.</summary>
    internal static async Task<JsonElement> ExtractorParametersAsync()
    {
        var (exit, output) = await DeployValidator.RunAsync(["--json", Path.Combine(Folder, "epp-configmap.yaml")]);
        Assert.True(exit == 0, output);
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("EPPCONFIG ", StringComparison.Ordinal));
        var config = JsonDocument.Parse(line["EPPCONFIG ".Length..]).RootElement.GetProperty("config");
        return config.GetProperty("plugins").EnumerateArray().Single(p => p.GetProperty("type").GetString() == "core-metrics-extractor").GetProperty("parameters");
    }

    private static async Task<List<JsonElement>> ObjectsAsync(string[] files)
    {
        var (exit, output) = await DeployValidator.RunAsync(["--json", .. files]);
        Assert.True(exit == 0, output);
        return output.Split('\n').Where(l => l.StartsWith("OBJECT ", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l["OBJECT ".Length..]).RootElement.GetProperty("object")).ToList();
    }

    private static bool Is(JsonElement obj, string kind, string name) => obj.GetProperty("kind").GetString() == kind && Name(obj) == name;

    private static string? Name(JsonElement obj) => obj.GetProperty("metadata").GetProperty("name").GetString();

    private static string? Namespace(JsonElement obj) => obj.GetProperty("metadata").GetProperty("namespace").GetString();

    /// <summary>Writes the files into a fresh folder and validates the first.</summary>
    private static async Task<(int Exit, string Output)> ValidateAsync(params (string Name, string Yaml)[] files)
    {
        var dir = Directory.CreateTempSubdirectory("qwen-inference-extension-").FullName;
        try
        {
            foreach (var (name, yaml) in files)
            {
                await File.WriteAllTextAsync(Path.Combine(dir, name), yaml + "\n");
            }
            return await DeployValidator.RunAsync([Path.Combine(dir, files[0].Name)]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
