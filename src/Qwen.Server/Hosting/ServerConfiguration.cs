using System.ComponentModel;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.Json;

namespace Qwen.Server.Hosting;

/// <summary>
/// Feeds the "Qwen" configuration section from QWEN_* environment variables and command-line flags (later sources win:
/// appsettings.json, then QWEN_* variables, then flags), then converts, binds and validates it. Every problem is reported
/// at once, each naming the setting, its flag, its environment variable and the source of the bad value.
/// </summary>
public static class ServerConfiguration
{
    private const string Section = "Qwen";

    /// <summary>The settings' flags, then the host's: every key of <see cref="WebHostDefaults"/> and <see cref="HostDefaults"/>, and https_port and AllowedHosts.</summary>
    private static readonly HashSet<string> KnownFlags = new(
        ServerOptions.Settings.Select(s => s.Flag).Concat(
            new[] { typeof(WebHostDefaults), typeof(HostDefaults) }
                .SelectMany(t => t.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
                .Where(f => f.FieldType == typeof(string))
                .Select(f => (string)f.GetValue(null)!)
                .Concat(["https_port", "AllowedHosts"])
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .Select(k => "--" + k)),
        StringComparer.OrdinalIgnoreCase);

    /// <summary>Configuration sections a flag may name by path (the Qwen section's keys are checked like appsettings.json's).</summary>
    private static readonly HashSet<string> ConfigurationRoots = new([Section, "Kestrel", "Logging"], StringComparer.OrdinalIgnoreCase);

    /// <summary>QWEN_* variables of this project that are not settings: compose's model volume and the golden-file recorder of the tests.</summary>
    private static readonly string[] OtherVariables = ["QWEN_MODEL_DIR", "QWEN_RECORD_RESPONSES"];

    /// <summary>Adds this process's QWEN_* variables and the flags to <paramref name="configuration"/> and returns the validated options; throws <see cref="StartupException"/>.</summary>
    public static ServerOptions Load(ConfigurationManager configuration, string[] args)
        => Load(configuration, args, Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal));

    /// <summary>
    /// As <see cref="Load(ConfigurationManager, string[])"/> with <paramref name="environment"/> as the whole environment (tests
    /// pass a dictionary): a QWEN_* variable that is neither a setting's nor one of the project's others is refused.
    /// </summary>
    public static ServerOptions Load(ConfigurationManager configuration, string[] args, IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var known = ServerOptions.Settings.Select(s => s.Env).Concat(ServerOptions.Settings.Select(s => s.EnvAlias).OfType<string>()).ToList();
        var unknown = environment.Keys.Where(k => k.StartsWith("QWEN_", StringComparison.Ordinal) && !known.Contains(k) && !OtherVariables.Contains(k)).Order(StringComparer.Ordinal)
            .Select(k => $"unknown environment variable {k}; did you mean {NearestName.Find(k, known)}?");
        return Load(configuration, args, name => environment.GetValueOrDefault(name), [.. unknown]);
    }

    /// <summary>
    /// As <see cref="Load(ConfigurationManager, string[])"/>, reading the settings' variables through <paramref name="environment"/>;
    /// it cannot see the other QWEN_* variables, so unknown ones go unreported (the dictionary overload reports them).
    /// </summary>
    public static ServerOptions Load(ConfigurationManager configuration, string[] args, Func<string, string?> environment)
        => Load(configuration, args, environment, []);

    private static ServerOptions Load(ConfigurationManager configuration, string[] args, Func<string, string?> environment, IReadOnlyList<string> environmentProblems)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var env = new Dictionary<string, string?>();
        var envSource = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var s in ServerOptions.Settings)
        {
            // The canonical variable wins over its alias; an empty variable counts as unset (compose's ${VAR:-} gives ""),
            // except QWEN_API_KEYS: a blank key list must not quietly mean an open server (it is reported below).
            foreach (var variable in new[] { s.Env, s.EnvAlias })
            {
                if (variable is not null && !envSource.ContainsKey(s.Key) && environment(variable) is { } value && (value.Length > 0 || s.Key == nameof(ServerOptions.ApiKeys)))
                {
                    env[$"{Section}:{s.Key}"] = value;
                    envSource[s.Key] = variable;
                }
            }
        }
        configuration.AddInMemoryCollection(env);
        var envProvider = ((IConfigurationRoot)configuration).Providers.Last();
        var switches = ServerOptions.Settings.ToDictionary(s => s.Flag, s => $"{Section}:{s.Key}");
        var normalized = NormalizeBooleanFlags(args);
        configuration.AddCommandLine(normalized, switches);

        var errors = new List<string>(FlagProblems(normalized));
        errors.AddRange(environmentProblems);
        var values = new Dictionary<string, string?>();
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var child in configuration.GetSection(Section).GetChildren())
        {
            if (!ServerOptions.Settings.Any(s => string.Equals(s.Key, child.Key, StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add($"unknown setting {Section}:{child.Key} ({SourceOf(configuration, child.Key, envProvider, envSource)}); the settings are {string.Join(", ", ServerOptions.Settings.Select(s => s.Key))}");
            }
        }
        foreach (var s in ServerOptions.Settings)
        {
            var raw = configuration[$"{Section}:{s.Key}"];
            if (raw is not null && s.Key == nameof(ServerOptions.ApiKeys) && string.IsNullOrWhiteSpace(raw))
            {
                errors.Add($"{s.Label} is set but blank (from {SourceOf(configuration, s.Key, envProvider, envSource)}): give the keys, or unset it to serve without authentication");
                continue;
            }
            if (string.IsNullOrWhiteSpace(raw))
            {
                continue;
            }
            given[s.Key] = SourceOf(configuration, s.Key, envProvider, envSource);
            raw = raw.Trim();
            var type = typeof(ServerOptions).GetProperty(s.Key)!.PropertyType;
            if (!Converts(raw, type))
            {
                errors.Add($"{s.Label} must be {Describe(type)} (given '{raw}', from {SourceOf(configuration, s.Key, envProvider, envSource)})");
                continue;
            }
            values[s.Key] = raw;
        }
        // Values that did not convert are left out of the binding, so the range checks still report everything else.
        var options = (new ConfigurationBuilder().AddInMemoryCollection(values).Build().Get<ServerOptions>() ?? new ServerOptions()) with { GivenFrom = given };
        errors.AddRange(options.Problems().Select(p => $"{ServerOptions.Setting(p.Key).Label} {p.Rule} (given {p.Given}, from {SourceOf(configuration, p.Key, envProvider, envSource)})"));
        if (errors.Count == 0)
        {
            return options;
        }
        throw new StartupException("invalid settings: " + string.Join("; ", errors));
    }

    /// <summary>
    /// Every argument that is not a known flag with its value: <c>--flag value</c> and <c>--flag=value</c> for a setting's flag,
    /// one the ASP.NET host reads (--urls, --environment, ...), or a configuration path under Qwen, Kestrel or Logging
    /// (<c>--Kestrel:Limits:MaxConcurrentConnections=100</c>). The command-line provider would otherwise drop or store the
    /// rest unread, so a mistyped flag would silently leave its setting at the default.
    /// </summary>
    private static IEnumerable<string> FlagProblems(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                yield return $"unexpected argument '{arg}': settings are given as --flag value or --flag=value";
                continue;
            }
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg : arg[..equals];
            var known = KnownFlags.Contains(name) || (name.Contains(':', StringComparison.Ordinal) && ConfigurationRoots.Contains(name[2..].Split(':')[0]));
            if (!known)
            {
                yield return $"unknown flag {name}; did you mean {NearestName.Find(name, KnownFlags)}?";
            }
            if (equals < 0 && ++i >= args.Length && known)
            {
                yield return $"flag {name} has no value";
            }
        }
    }

    /// <summary>Flags without a value (<c>--json-logs</c>) are booleans: give them "true" so the command-line provider accepts them.</summary>
    private static string[] NormalizeBooleanFlags(string[] args)
    {
        var booleans = ServerOptions.Settings.Where(s => typeof(ServerOptions).GetProperty(s.Key)!.PropertyType == typeof(bool)).Select(s => s.Flag).ToHashSet(StringComparer.Ordinal);
        var normalized = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            normalized.Add(args[i]);
            if (booleans.Contains(args[i]) && (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)))
            {
                normalized.Add("true");
            }
        }
        return [.. normalized];
    }

    private static bool Converts(string raw, Type type)
    {
        if (type == typeof(string))
        {
            return true;
        }
        try
        {
            // The converter the configuration binder itself uses, so what passes here binds.
            _ = TypeDescriptor.GetConverter(type).ConvertFromInvariantString(raw);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException || e.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static string Describe(Type type) => type == typeof(bool) ? "true or false"
        : type == typeof(int) || type == typeof(long) ? "an integer"
        : type == typeof(double) ? "a number"
        : $"a {type.Name}";

    /// <summary>Which source gave the winning value of <c>Qwen:{key}</c>: a file name, a flag or an environment variable.</summary>
    private static string SourceOf(IConfigurationRoot configuration, string key, IConfigurationProvider envProvider, Dictionary<string, string> envSource)
    {
        var setting = ServerOptions.Settings.FirstOrDefault(s => string.Equals(s.Key, key, StringComparison.OrdinalIgnoreCase));
        foreach (var provider in configuration.Providers.Reverse())
        {
            if (!provider.TryGet($"{Section}:{key}", out _))
            {
                continue;
            }
            return provider switch
            {
                JsonConfigurationProvider json => json.Source.FileProvider?.GetFileInfo(json.Source.Path ?? "").PhysicalPath ?? json.Source.Path ?? "a JSON file",
                CommandLineConfigurationProvider => setting?.Flag ?? "the command line",
                _ when ReferenceEquals(provider, envProvider) && envSource.TryGetValue(key, out var variable) => variable,
                _ => provider.ToString() ?? provider.GetType().Name,
            };
        }
        return "defaults";
    }
}
