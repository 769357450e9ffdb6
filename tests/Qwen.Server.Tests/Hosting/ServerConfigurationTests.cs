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
        // The ConfigMap's "" means unset for every setting but the API keys.
        var options = Load("{}", new() { ["QWEN_SERVED_MODEL_NAME"] = "", ["QWEN_KV_CACHE_MEMORY"] = "" }, []);
        Assert.Null(options.ServedModelName);
        Assert.Null(options.KvCacheMemory);
    }

    [Theory]
    [InlineData("QWEN_API_KEYS", "", "ApiKeys (--api-keys, QWEN_API_KEYS) is set but blank (from QWEN_API_KEYS)")]
    [InlineData("QWEN_API_KEYS", "  ", "ApiKeys (--api-keys, QWEN_API_KEYS) is set but blank (from QWEN_API_KEYS)")]
    [InlineData("QWEN_API_KEYS", " , ", "ApiKeys (--api-keys, QWEN_API_KEYS) must be comma-separated keys, none of them blank (given 2 blank of 2, from QWEN_API_KEYS)")]
    [InlineData("--api-keys", "", "ApiKeys (--api-keys, QWEN_API_KEYS) is set but blank (from --api-keys)")]
    [InlineData("--api-keys", " , ", "ApiKeys (--api-keys, QWEN_API_KEYS) must be comma-separated keys, none of them blank (given 2 blank of 2, from --api-keys)")]
    [InlineData("--api-keys", "sk-secret-1,,sk-secret-2", "ApiKeys (--api-keys, QWEN_API_KEYS) must be comma-separated keys, none of them blank (given 1 blank of 3, from --api-keys)")]
    public void Load_BlankApiKeys_AreAStartupErrorNotAnOpenServer(string source, string value, string expected)
    {
        var (message, _) = source.StartsWith("--", StringComparison.Ordinal) ? Refused("{}", [], [source, value]) : Refused("{}", new() { [source] = value }, []);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-secret", message, StringComparison.Ordinal); // the message goes to the log
    }

    [Fact]
    public void Load_BlankApiKeysInAppsettings_AreAStartupError()
    {
        var (message, file) = Refused("""{"Qwen":{"ApiKeys":""}}""", [], []);
        Assert.Contains($"ApiKeys (--api-keys, QWEN_API_KEYS) is set but blank (from {file})", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ProtectOperationsWithoutKeys_IsRefused()
    {
        var (message, _) = Refused("{}", [], ["--protect-operations"]);
        Assert.Contains("ProtectOperations (--protect-operations, QWEN_PROTECT_OPERATIONS) needs ApiKeys", message, StringComparison.Ordinal);
        Assert.True(Load("{}", new() { ["QWEN_API_KEYS"] = "k" }, ["--protect-operations"]).ProtectOperations);
    }

    [Theory]
    [InlineData(new[] { "--modle", "/models/qwen" }, "unknown flag --modle; did you mean --model?")]
    [InlineData(new[] { "--modle=/models/qwen" }, "unknown flag --modle; did you mean --model?")]
    [InlineData(new[] { "--max-num-seq", "4" }, "unknown flag --max-num-seq; did you mean --max-num-seqs?")]
    [InlineData(new[] { "--json-log" }, "unknown flag --json-log; did you mean --json-logs?")]
    [InlineData(new[] { "--url", "http://127.0.0.1:9000" }, "unknown flag --url; did you mean --urls?")]
    [InlineData(new[] { "--Kestrl:Limits:MaxConcurrentConnections=10" }, "unknown flag --Kestrl:Limits:MaxConcurrentConnections")]
    [InlineData(new[] { "/models/qwen" }, "unexpected argument '/models/qwen': settings are given as --flag value or --flag=value")]
    [InlineData(new[] { "-m", "x" }, "unexpected argument '-m'")]
    [InlineData(new[] { "--threads", "2", "--model" }, "flag --model has no value")]
    public void Load_UnknownOrMalformedFlag_IsRefusedNamingTheNearestFlag(string[] args, string expected)
    {
        var (message, _) = Refused("{}", [], args);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_HostFlagsAndConfigurationPaths_AreAccepted()
    {
        var options = Load("{}", [], [
            "--urls", "http://127.0.0.1:9000", "--environment=Production", "--applicationName", "qwen", "--http_ports", "9001",
            "--Kestrel:Limits:MaxConcurrentConnections", "100", "--Logging:LogLevel:Default=Debug", "--Qwen:MaxWaiting=7", "--max-num-seqs=3",
        ]);
        Assert.Equal(7, options.MaxWaiting);
        Assert.Equal(3, options.MaxNumSeqs);
    }

    [Fact]
    public void Load_UnknownQwenVariable_IsRefusedNamingTheNearest_OthersOfTheProjectAccepted()
    {
        var (message, _) = Refused("{}", new() { ["QWEN_MAX_NUM_SEQ"] = "4", ["QWEN_MODLE"] = "/m" }, []);
        Assert.Contains("unknown environment variable QWEN_MAX_NUM_SEQ; did you mean QWEN_MAX_NUM_SEQS?", message, StringComparison.Ordinal);
        Assert.Contains("unknown environment variable QWEN_MODLE; did you mean QWEN_MODEL?", message, StringComparison.Ordinal);

        var env = new Dictionary<string, string> { ["QWEN_MODEL_DIR"] = "./models", ["QWEN_RECORD_RESPONSES"] = "1", ["QWEN_MODEL_CACHE"] = "/c", ["PATH"] = "/bin", ["qwen_lowercase"] = "x" };
        Assert.Equal("/c", Load("{}", env, []).ModelCacheDir);
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
        return ServerConfiguration.Load(configuration, args, Whole(env));
    }

    private static (string Message, string File) Refused(string appsettings, Dictionary<string, string> env, string[] args)
    {
        var (configuration, file) = Configuration(appsettings);
        var e = Assert.Throws<StartupException>(() => ServerConfiguration.Load(configuration, args, Whole(env)));
        Assert.DoesNotContain('\n', e.Message);
        return (e.Message, file);
    }

    /// <summary><paramref name="env"/> as the process's whole environment, so unknown QWEN_* names are seen.</summary>
    private static Dictionary<string, string?> Whole(Dictionary<string, string> env) => env.ToDictionary(e => e.Key, e => (string?)e.Value, StringComparer.Ordinal);

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
