using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Prometheus;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.OnnxExport;
using Qwen.Server.Endpoints;
using Qwen.Server.Errors;
using Qwen.Server.Hosting;
using Qwen.Server.Observability;
using Serilog;
using Serilog.Formatting.Compact;

namespace Qwen.Server;

/// <summary>
/// Builds the web application: settings, logging, the model, middleware and endpoints. Program.cs and the tests share it.
/// The composition root, with <see cref="HubModelLoader"/>: the server's only files that know the exporter (to build the demo
/// model, <see cref="BuildDemoModel"/>, and to export a Hugging Face repo id).
/// </summary>
public static class QwenServerApp
{
    /// <summary>The address used when neither --urls nor ASPNETCORE_URLS says otherwise.</summary>
    public const string DefaultUrl = "http://localhost:8000";

    /// <summary>
    /// Builds the app; <paramref name="runnerFactory"/> replaces the ONNX runner (tests use scripted runners). The content root
    /// is the app's own directory, so its appsettings.json is read whatever the current directory is. Throws
    /// <see cref="StartupException"/> for a bad setting or model.
    /// </summary>
    public static WebApplication Build(string[] args, Func<string, EngineOptions, IModelRunner>? runnerFactory = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var options = ServerConfiguration.Load(builder.Configuration, args);
        var urlsFrom = args.Any(a => a.Equals("--urls", StringComparison.OrdinalIgnoreCase) || a.StartsWith("--urls=", StringComparison.OrdinalIgnoreCase)) ? "--urls" : "ASPNETCORE_URLS";
        if (DefaultUrlIfUnset(builder.Configuration) is { } url)
        {
            builder.WebHost.UseUrls(url);
            urlsFrom = "the default address";
        }
        ListenAddresses.Check(builder.Configuration, urlsFrom); // a bad address or a port in use is reported before the model loads
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        builder.Host.UseSerilog((_, log) =>
        {
            log.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft", Serilog.Events.LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Hosting.Lifetime", Serilog.Events.LogEventLevel.Information)
                .Enrich.FromLogContext()
                // Program.cs restates a bind failure as one line; the host's own report of it is a stack trace.
                .Filter.ByExcluding(e => IsBindFailure(e.Exception) && Serilog.Filters.Matching.FromSource("Microsoft.Extensions.Hosting")(e));
            if (options.JsonLogs)
            {
                log.WriteTo.Console(new CompactJsonFormatter());
            }
            else
            {
                log.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}");
            }
        });
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(15));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(sp => ModelHost.Load(options, sp.GetRequiredService<ILogger<ModelHost>>(), Sources, runnerFactory));
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(s => s.SwaggerDoc("v1", new() { Title = "Qwen.Server", Version = "v1", Description = "OpenAI-compatible API for Qwen2.5 models exported to ONNX." }));
        builder.Services.AddQwenApi();
        builder.Services.AddCors(c => c.AddDefaultPolicy(p =>
        {
            var origins = options.CorsOriginList;
            if (origins.Contains("*"))
            {
                p.AllowAnyOrigin().AllowAnyHeader().AllowAnyMethod();
            }
            else if (origins.Count > 0)
            {
                p.WithOrigins([.. origins]).AllowAnyHeader().AllowAnyMethod();
            }
        }));

        var app = builder.Build();
        var model = app.Services.GetRequiredService<ModelHost>(); // load now: readiness means loaded
        if (options.ApiKeyList.Count == 0)
        {
            app.Logger.LogWarning("Auth: off (no --api-keys): every route is open"); // a warning of its own, so an open server is never a surprise
        }
        // Only once listening are the addresses known (a port 0 resolved); what IServerAddressesFeature holds then is what was bound.
        app.Lifetime.ApplicationStarted.Register(() => StartupSummary.Log(app.Logger, options, model, [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []]));
        var tracking = ServerMetrics.Track(model);
        app.Lifetime.ApplicationStopped.Register(tracking.Dispose); // before the host (and its engine) is disposed
        app.UseMiddleware<ErrorMiddleware>();
        app.UseCors();
        app.UseMiddleware<ApiKeyMiddleware>();
        app.UseSwagger();
        app.UseSwaggerUI();
        app.MapChatCompletions();
        app.MapCompletions();
        app.MapResponses();
        app.MapModels();
        app.MapTokenize();
        app.MapHealth();
        app.MapMetrics("/metrics");
        if (options.Playground)
        {
            app.MapPlayground();
        }
        app.MapFallback((HttpContext c) => throw ApiException.UnknownRoute(c.Request.Method, c.Request.Path));
        return app;
    }

    /// <summary>Where <see cref="ModelHost.Load"/> gets a model it does not find on disk: the demo build and the Hugging Face Hub.</summary>
    internal static ModelSources Sources { get; } = new(BuildDemoModel, HubModelLoader.Fetch);

    /// <summary>
    /// Builds the random-weight demo model of <paramref name="preset"/> into <paramref name="cacheDirectory"/> with the exporter,
    /// or reuses the one built there before; returns its directory. fp32 on the CPU; fp16 on CUDA, whose attention kernel takes
    /// no float32. Logs the build, which only the first run pays.
    /// </summary>
    internal static string BuildDemoModel(string preset, string cacheDirectory, string executionProvider, Microsoft.Extensions.Logging.ILogger logger)
    {
        var precision = executionProvider == "cuda" ? "fp16" : "fp32";
        if (!File.Exists(Path.Combine(RandomModelCache.DirectoryFor(preset, precision, ModelHost.DemoSeed, cacheDirectory, demo: true), "manifest.json")))
        {
            logger.LogInformation(
                "Building the demo model (preset {Preset}, {Precision}) into {Directory}, first run only{Duration}",
                preset, precision, cacheDirectory, preset == "qwen2.5-0.5b" ? " (about a minute)" : "");
        }
        return RandomModelCache.GetOrCreate(preset, precision, ModelHost.DemoSeed, cacheDirectory, demo: true);
    }

    /// <summary>Whether <paramref name="e"/> is Kestrel failing to listen on a configured address (in use, not permitted).</summary>
    public static bool IsBindFailure(Exception? e) => e is IOException && e.Message.StartsWith("Failed to bind", StringComparison.Ordinal);

    /// <summary>
    /// <see cref="DefaultUrl"/> when no address is configured, else null: <c>--urls</c> and <c>ASPNETCORE_URLS</c> both arrive
    /// as the <c>urls</c> key, <c>ASPNETCORE_HTTP_PORTS</c>/<c>HTTPS_PORTS</c> as <c>http_ports</c>/<c>https_ports</c>, and
    /// Kestrel endpoints in configuration win over any of them.
    /// </summary>
    public static string? DefaultUrlIfUnset(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = new[] { "urls", "http_ports", "https_ports" }.Any(k => !string.IsNullOrWhiteSpace(configuration[k]))
            || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
        return configured ? null : DefaultUrl;
    }
}
