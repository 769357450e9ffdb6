using System.Globalization;
using System.Text.Json;
using Qwen.Inference.Engine;
using Qwen.Server.Hosting;
using Qwen.Server.Tests.Deploy;

namespace Qwen.Server.Tests.Hosting;

/// <summary>One set of defaults: every setting the server shares with the engine defaults to the engine's value, as documented and as shipped.</summary>
public sealed class ServerDefaultsTests
{
    /// <summary>(ServerOptions property, EngineOptions property) for each setting both have.</summary>
    public static TheoryData<string, string> Shared => new()
    {
        { nameof(ServerOptions.MaxNumSeqs), nameof(EngineOptions.MaxNumSeqs) },
        { nameof(ServerOptions.GpuMemoryUtilization), nameof(EngineOptions.GpuMemoryUtilization) },
        { nameof(ServerOptions.MaxModelLen), nameof(EngineOptions.MaxModelLen) },
        { nameof(ServerOptions.MaxWaiting), nameof(EngineOptions.MaxWaiting) },
        { nameof(ServerOptions.PrefillChunkSize), nameof(EngineOptions.PrefillChunkSize) },
        { nameof(ServerOptions.Threads), nameof(EngineOptions.IntraOpThreads) },
        { nameof(ServerOptions.ExecutionProvider), nameof(EngineOptions.ExecutionProvider) },
        { nameof(ServerOptions.CudaDeviceId), nameof(EngineOptions.CudaDeviceId) },
        { nameof(ServerOptions.MaxClientLag), nameof(EngineOptions.MaxClientLag) },
    };

    [Theory]
    [MemberData(nameof(Shared))]
    public void Default_SharedWithTheEngine_IsTheEngineDefaultAndTheDocumentedOne(string server, string engine)
    {
        var engineDefault = Value(new EngineOptions(), engine);
        Assert.Equal(engineDefault, Value(new ServerOptions(), server));
        // The README's table (ServerOptions.Settings) states the value, perhaps followed by what it means: "0 (one per core)".
        var documented = ServerOptions.Setting(server).Default;
        Assert.True(documented == engineDefault || documented.StartsWith(engineDefault + " ", StringComparison.Ordinal), $"{server} is documented as '{documented}', the default is {engineDefault}");
    }

    [Fact]
    public void ShippedAppsettings_EveryValue_IsTheDefault()
    {
        // appsettings.json beside the binary is read on every start: a value there that differs is a second default.
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot.Path, "src", "Qwen.Server", "appsettings.json")));
        var defaults = new ServerOptions();
        foreach (var setting in json.RootElement.GetProperty("Qwen").EnumerateObject())
        {
            Assert.Equal(Value(defaults, setting.Name), setting.Value.ToString());
        }
    }

    private static string Value(object options, string property)
        => Convert.ToString(options.GetType().GetProperty(property)!.GetValue(options), CultureInfo.InvariantCulture)!;
}
