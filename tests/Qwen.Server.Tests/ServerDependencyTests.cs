using System.Text.RegularExpressions;
using Qwen.Server.Tests.Deploy;

namespace Qwen.Server.Tests;

/// <summary>
/// The host knows the engine through ModelInfo and one Load call: no server source names ONNX Runtime or its runner, and
/// only the composition root (the files at the project's root) names the exporter (it builds the demo model and exports Hub repos).
/// </summary>
public sealed partial class ServerDependencyTests
{
    private const string CompositionRoot = "QwenServerApp.cs";

    [Fact]
    public void ServerSources_OutsideTheCompositionRoot_NameNeitherOnnxRuntimeNorTheExporter()
    {
        var root = Path.Combine(RepoRoot.Path, "src", "Qwen.Server");
        var sources = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => !f.StartsWith("obj/", StringComparison.Ordinal) && !f.StartsWith("bin/", StringComparison.Ordinal))
            .ToList();
        Assert.Contains(CompositionRoot, sources);
        Assert.Contains("Hosting/ModelHost.cs", sources);
        Assert.Empty(Offences(sources.Select(f => (f, File.ReadAllText(Path.Combine(root, f))))));
    }

    [Fact]
    public void Offences_PlantedMentions_AreFoundOutsideTheCompositionRootAndOnnxRuntimeEverywhere()
    {
        (string, string)[] planted =
        [
            ("Hosting/ModelHost.cs", "var kv = (runner as OnnxModelRunner)?.KvCache;"),
            ("Validation/RequestValidator.cs", "using Qwen.OnnxExport;"),
            ("Hosting/ModelHost.cs", "RandomModelCache.GetOrCreate(preset)"),
            (CompositionRoot, "using Microsoft.ML.OnnxRuntime;"),
            (CompositionRoot, "using Qwen.OnnxExport; RandomModelCache.GetOrCreate(preset)"),
            ("HubModelLoader.cs", "using Qwen.OnnxExport.Hub;"),
            ("Hosting/HubModel.cs", "using Qwen.OnnxExport.Hub;"),
            ("Hosting/ExportHint.cs", "Path.Combine(dir, \"onnx-export\", \"Qwen.OnnxExport.csproj\")"),
        ];
        Assert.Equal(
            [
                "Hosting/ModelHost.cs: OnnxModelRunner",
                "Validation/RequestValidator.cs: Qwen.OnnxExport",
                "Hosting/ModelHost.cs: RandomModelCache",
                $"{CompositionRoot}: Microsoft.ML.OnnxRuntime",
                "Hosting/HubModel.cs: Qwen.OnnxExport",
            ],
            Offences(planted));
    }

    // ONNX Runtime and its runner belong to Qwen.Inference alone; the exporter (by namespace or its model cache) to the
    // composition root, the files at the project's root (QwenServerApp.cs, HubModelLoader.cs). The exporter's project file name is a path on disk that ExportHint looks for, not a code reference.
    private static List<string> Offences(IEnumerable<(string File, string Text)> sources)
    {
        var found = new List<string>();
        foreach (var (file, text) in sources)
        {
            foreach (Match m in AnywhereRegex().Matches(text))
            {
                found.Add($"{file}: {m.Value}");
            }
            if (file.Contains('/', StringComparison.Ordinal))
            {
                foreach (Match m in ExporterRegex().Matches(text))
                {
                    found.Add($"{file}: {m.Value}");
                }
            }
        }
        return found;
    }

    [GeneratedRegex(@"Microsoft\.ML\.OnnxRuntime|\bOnnxModelRunner\b", RegexOptions.CultureInvariant)]
    private static partial Regex AnywhereRegex();

    [GeneratedRegex(@"\bQwen\.OnnxExport\b(?!\.csproj)|\bRandomModelCache\b", RegexOptions.CultureInvariant)]
    private static partial Regex ExporterRegex();
}
