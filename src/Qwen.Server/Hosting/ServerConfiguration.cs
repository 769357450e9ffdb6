using System.ComponentModel;
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

    /// <summary>Adds the QWEN_* variables and the flags to <paramref name="configuration"/> and returns the validated options; throws <see cref="StartupException"/>.</summary>
    public static ServerOptions Load(ConfigurationManager configuration, string[] args)
        => Load(configuration, args, Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="Load(ConfigurationManager, string[])"/>, reading environment variables through <paramref name="environment"/> (tests pass a dictionary).</summary>
    public static ServerOptions Load(ConfigurationManager configuration, string[] args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var env = new Dictionary<string, string?>();
        var envSource = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var s in ServerOptions.Settings)
        {
            // The canonical variable wins over its alias; an empty variable counts as unset (compose's ${VAR:-} gives "").
            foreach (var variable in new[] { s.Env, s.EnvAlias })
            {
                if (variable is not null && !envSource.ContainsKey(s.Key) && environment(variable) is { Length: > 0 } value)
                {
                    env[$"{Section}:{s.Key}"] = value;
                    envSource[s.Key] = variable;
                }
            }
        }
        configuration.AddInMemoryCollection(env);
        var envProvider = ((IConfigurationRoot)configuration).Providers.Last();
        var switches = ServerOptions.Settings.ToDictionary(s => s.Flag, s => $"{Section}:{s.Key}");
        configuration.AddCommandLine(NormalizeBooleanFlags(args), switches);

        var errors = new List<string>();
        var values = new Dictionary<string, string?>();
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
            if (string.IsNullOrWhiteSpace(raw))
            {
                continue;
            }
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
        var options = new ConfigurationBuilder().AddInMemoryCollection(values).Build().Get<ServerOptions>() ?? new ServerOptions();
        errors.AddRange(options.Problems().Select(p => $"{ServerOptions.Setting(p.Key).Label} {p.Rule} (given {p.Given}, from {SourceOf(configuration, p.Key, envProvider, envSource)})"));
        if (errors.Count == 0)
        {
            return options;
        }
        throw new StartupException("invalid settings: " + string.Join("; ", errors));
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
