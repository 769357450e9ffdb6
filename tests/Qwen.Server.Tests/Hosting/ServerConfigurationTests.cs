using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Qwen.Server.Hosting;

namespace Qwen.Server.Tests.Hosting;

/// <summary>Where settings come from (appsettings.json &lt; QWEN_* &lt; flags) and how a bad one is reported: the setting, its flag, its variable and the source.</summary>
public sealed class ServerConfigurationTests
{
    [Fact]
    public void Load_SameSettingInEverySource_FlagBeatsEnvironmentBeatsAppsettings()
    {
        var json = """{"Qwen":{"MaxWaiting":10}}""";
        var env = new Dictionary<string, string> { ["QWEN_MAX_WAITING"] = "20" };
        Assert.Equal(30, Load(json, env, ["--max-waiting", "30"]).MaxWaiting);
        Assert.Equal(20, Load(json, env, []).MaxWaiting);
        Assert.Equal(10, Load(json, [], []).MaxWaiting);
        Assert.Equal(64, Load("{}", [], []).MaxWaiting);
    }

    [Fact]
    public void Load_InvalidValueInAppsettings_NamesSettingFlagVariableAndFile()
    {
        var (message, file) = Refused("""{"Qwen":{"MaxWaiting":-1}}""", [], []);
        Assert.Contains($"MaxWaiting (--max-waiting, QWEN_MAX_WAITING) must be in [0, 1000000] (given -1, from {file})", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_InvalidValueInEnvironment_NamesSettingFlagAndVariable()
    {
        var (message, _) = Refused("""{"Qwen":{"MaxWaiting":10}}""", new() { ["QWEN_MAX_WAITING"] = "lots" }, []);
        Assert.Contains("MaxWaiting (--max-waiting, QWEN_MAX_WAITING) must be an integer (given 'lots', from QWEN_MAX_WAITING)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_InvalidValueInFlag_NamesSettingFlagAndVariable()
    {
        var (message, _) = Refused("{}", new() { ["QWEN_MAX_WAITING"] = "20" }, ["--max-waiting", "-3"]);
        Assert.Contains("MaxWaiting (--max-waiting, QWEN_MAX_WAITING) must be in [0, 1000000] (given -3, from --max-waiting)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SeveralProblems_AreAllReportedAtOnce()
    {
        var (message, _) = Refused("{}", new() { ["QWEN_EXECUTION_PROVIDER"] = "tpu" }, ["--max-num-seqs", "0", "--demo-preset", "huge", "--json-logs", "maybe"]);
        Assert.Contains("JsonLogs (--json-logs, QWEN_JSON_LOGS) must be true or false (given 'maybe', from --json-logs)", message, StringComparison.Ordinal);
        Assert.Contains("MaxNumSeqs (--max-num-seqs, QWEN_MAX_NUM_SEQS) must be in [1, 1024] (given 0, from --max-num-seqs)", message, StringComparison.Ordinal);
        Assert.Contains("ExecutionProvider (--execution-provider, QWEN_EXECUTION_PROVIDER) must be cpu or cuda (given 'tpu', from QWEN_EXECUTION_PROVIDER)", message, StringComparison.Ordinal);
        Assert.Contains("DemoPreset (--demo-preset, QWEN_DEMO_PRESET) must be tiny, small or qwen2.5-0.5b (given 'huge', from --demo-preset)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MisspelledKeyInAppsettings_IsRefusedNotIgnored()
    {
        var (message, file) = Refused("""{"Qwen":{"MaxNumSeq":4}}""", [], []);
        Assert.Contains($"unknown setting Qwen:MaxNumSeq ({file})", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--kv-cache-memory", "2GiB", 2147483648L)]
    [InlineData("--kv-cache-memory", "512MiB", 536870912L)]
    [InlineData("--kv-cache-memory", "1073741824", 1073741824L)]
    public void Load_KvCacheMemory_IsParsedToBytes(string flag, string value, long bytes)
    {
        var options = Load("{}", [], [flag, value]);
        Assert.Equal(value, options.KvCacheMemory);
        Assert.Equal(bytes, options.KvCacheMemoryBytes);
        Assert.Null(Load("{}", [], []).KvCacheMemoryBytes);
    }

    [Fact]
    public void Load_BadKvCacheMemory_NamesSettingFlagAndVariable()
    {
        var (message, _) = Refused("{}", new() { ["QWEN_KV_CACHE_MEMORY"] = "2 gigs" }, []);
        Assert.Contains("KvCacheMemory (--kv-cache-memory, QWEN_KV_CACHE_MEMORY) must be a positive size", message, StringComparison.Ordinal);
        Assert.Contains("(given '2 gigs', from QWEN_KV_CACHE_MEMORY)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_GpuMemoryUtilization_IsANumberWithDefault09()
    {
        Assert.Equal(0.9, Load("{}", [], []).GpuMemoryUtilization);
        Assert.Equal(0.5, Load("{}", [], ["--gpu-memory-utilization", "0.5"]).GpuMemoryUtilization);
        Assert.Equal(1.0, Load("{}", new() { ["QWEN_GPU_MEMORY_UTILIZATION"] = "1" }, []).GpuMemoryUtilization);
        var (message, _) = Refused("{}", new() { ["QWEN_GPU_MEMORY_UTILIZATION"] = "90%" }, []);
        Assert.Contains("GpuMemoryUtilization (--gpu-memory-utilization, QWEN_GPU_MEMORY_UTILIZATION) must be a number (given '90%', from QWEN_GPU_MEMORY_UTILIZATION)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ModelCacheVariables_CanonicalNameBeatsTheOldAlias()
    {
        Assert.Equal("/old", Load("{}", new() { ["QWEN_MODEL_CACHE"] = "/old" }, []).ModelCacheDir);
        Assert.Equal("/new", Load("{}", new() { ["QWEN_MODEL_CACHE"] = "/old", ["QWEN_MODEL_CACHE_DIR"] = "/new" }, []).ModelCacheDir);
        Assert.Equal("/flag", Load("{}", new() { ["QWEN_MODEL_CACHE_DIR"] = "/new" }, ["--model-cache-dir", "/flag"]).ModelCacheDir);
    }

    [Fact]
    public void Load_EmptyVariable_CountsAsUnset()
    {
        // docker compose's ${QWEN_API_KEYS:-} passes "" when the operator set nothing.
        var options = Load("{}", new() { ["QWEN_API_KEYS"] = "", ["QWEN_SERVED_MODEL_NAME"] = "" }, []);
        Assert.Null(options.ApiKeys);
        Assert.Empty(options.ApiKeyList);
        Assert.Null(options.ServedModelName);
    }

    [Fact]
    public void Load_JsonLogsFlagWithoutValue_IsTrue()
    {
        Assert.True(Load("{}", [], ["--json-logs"]).JsonLogs);
        var both = Load("{}", [], ["--json-logs", "--threads", "2"]);
        Assert.True(both.JsonLogs);
        Assert.Equal(2, both.Threads);
        Assert.False(Load("{}", [], ["--json-logs", "false"]).JsonLogs);
        Assert.False(Load("{}", [], []).JsonLogs);
    }

    [Fact]
    public void Settings_Names_FollowOneConvention()
    {
        // QWEN_<UPPER_SNAKE_KEY> and --<kebab-key>, derived here from the key by a plain rule.
        foreach (var s in ServerOptions.Settings)
        {
            var words = Regex.Matches(s.Key, "[A-Z][a-z0-9]*").Select(m => m.Value).ToList();
            Assert.Equal(s.Key, string.Concat(words));
            Assert.Equal("QWEN_" + string.Join('_', words).ToUpperInvariant(), s.Env);
            Assert.Equal("--" + string.Join('-', words).ToLowerInvariant(), s.Flag);
        }
    }

    [Fact]
    public void Settings_AreExactlyTheSettableOptions()
    {
        var settable = typeof(ServerOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).Order().ToList();
        Assert.Equal(settable, ServerOptions.Settings.Select(s => s.Key).Order().ToList());
    }

    [Theory]
    [InlineData("MaxNumSeqs", "0", "MaxNumSeqs (--max-num-seqs, QWEN_MAX_NUM_SEQS) must be in [1, 1024] (given 0)")]
    [InlineData("MaxNumSeqs", "1025", "MaxNumSeqs (--max-num-seqs, QWEN_MAX_NUM_SEQS) must be in [1, 1024] (given 1025)")]
    [InlineData("MaxModelLen", "15", "MaxModelLen (--max-model-len, QWEN_MAX_MODEL_LEN) must be in [16, 1048576] (given 15)")]
    [InlineData("MaxWaiting", "-1", "MaxWaiting (--max-waiting, QWEN_MAX_WAITING) must be in [0, 1000000] (given -1)")]
    [InlineData("PrefillChunkSize", "0", "PrefillChunkSize (--prefill-chunk-size, QWEN_PREFILL_CHUNK_SIZE) must be in [1, 1048576] (given 0)")]
    [InlineData("Threads", "-1", "Threads (--threads, QWEN_THREADS) must be in [0, 1024] (given -1)")]
    [InlineData("CudaDeviceId", "65", "CudaDeviceId (--cuda-device-id, QWEN_CUDA_DEVICE_ID) must be in [0, 64] (given 65)")]
    [InlineData("MaxRequestBodyBytes", "1023", "MaxRequestBodyBytes (--max-request-body-bytes, QWEN_MAX_REQUEST_BODY_BYTES) must be in [1024, 2147483648] (given 1023)")]
    [InlineData("MaxTokensLimit", "-1", "MaxTokensLimit (--max-tokens-limit, QWEN_MAX_TOKENS_LIMIT) must be in [0, 1048576] (given -1)")]
    [InlineData("GpuMemoryUtilization", "0", "GpuMemoryUtilization (--gpu-memory-utilization, QWEN_GPU_MEMORY_UTILIZATION) must be in (0, 1] (given 0)")]
    [InlineData("GpuMemoryUtilization", "1.5", "GpuMemoryUtilization (--gpu-memory-utilization, QWEN_GPU_MEMORY_UTILIZATION) must be in (0, 1] (given 1.5)")]
    [InlineData("GpuMemoryUtilization", "NaN", "GpuMemoryUtilization (--gpu-memory-utilization, QWEN_GPU_MEMORY_UTILIZATION) must be in (0, 1] (given NaN)")]
    [InlineData("ExecutionProvider", "tpu", "ExecutionProvider (--execution-provider, QWEN_EXECUTION_PROVIDER) must be cpu or cuda (given 'tpu')")]
    [InlineData("DemoPreset", "7b", "DemoPreset (--demo-preset, QWEN_DEMO_PRESET) must be tiny, small or qwen2.5-0.5b (given '7b')")]
    [InlineData("KvCacheMemory", "0GiB", "KvCacheMemory (--kv-cache-memory, QWEN_KV_CACHE_MEMORY) must be a positive size: bytes, or a number with B, KiB, MiB, GiB, TiB (also Ki, Mi, Gi, Ti) or KB, MB, GB, TB, e.g. 2GiB (given '0GiB')")]
    public void Validate_OutOfRange_MessageNamesSettingRuleAndValue(string key, string value, string expected)
    {
        var options = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build().Get<ServerOptions>()!;
        Assert.Equal([expected], options.Validate());
    }

    [Fact]
    public void Validate_Defaults_HaveNoProblems()
        => Assert.Empty(new ServerOptions().Validate());

    private static ServerOptions Load(string appsettings, Dictionary<string, string> env, string[] args)
    {
        var (configuration, _) = Configuration(appsettings);
        return ServerConfiguration.Load(configuration, args, name => env.GetValueOrDefault(name));
    }

    private static (string Message, string File) Refused(string appsettings, Dictionary<string, string> env, string[] args)
    {
        var (configuration, file) = Configuration(appsettings);
        var e = Assert.Throws<StartupException>(() => ServerConfiguration.Load(configuration, args, name => env.GetValueOrDefault(name)));
        Assert.DoesNotContain('\n', e.Message);
        return (e.Message, file);
    }

    private static (ConfigurationManager Configuration, string File) Configuration(string appsettings)
    {
        var dir = Directory.CreateTempSubdirectory("qwen-settings-").FullName;
        var file = Path.Combine(dir, "appsettings.json");
        File.WriteAllText(file, appsettings);
        var configuration = new ConfigurationManager();
        configuration.SetBasePath(dir).AddJsonFile("appsettings.json");
        return (configuration, file);
    }
}
