using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.Server.Hosting;
using Qwen.Server.Tests.Hosting;

namespace Qwen.Server.Tests;

/// <summary>The real server (Kestrel on a loopback port, the real engine, tokenizer and template) for a test class.</summary>
public class ServerFixture : IAsyncLifetime
{
    private readonly string[] _args;
    private readonly Func<string, EngineOptions, IModelRunner>? _runner;
    private IModelRunner? _createdRunner;
    private WebApplication? _app;

    public ServerFixture()
        : this(["--max-seqs-per-request", "4"]) // all 4 slots to one request: OpenAiClientTests asks for n = 3
    {
    }

    protected ServerFixture(string[] extraArgs, Func<string, EngineOptions, IModelRunner>? runner = null)
    {
        // The tiny test model, whose sharp logits keep greedy output off float noise and whose replies never end, unless the
        // fixture names a model: the demo's softer weights end most replies (DemoModelTests), which tests of lengths cannot use.
        string[] model = extraArgs.Contains("--model") ? [] : ["--model", TestModels.Tiny, "--served-model-name", "qwen2.5-tiny"];
        _args = ["--urls", "http://127.0.0.1:0", "--max-model-len", "512", "--max-num-seqs", "4", "--threads", "1", .. model, .. extraArgs];
        _runner = runner is null ? null : (dir, options) => _createdRunner = runner(dir, options);
    }

    /// <summary>The runner that the factory given to the constructor made, once the server has started (null without a factory).</summary>
    protected IModelRunner? CreatedRunner => _createdRunner;

    /// <summary>The server's base address, e.g. http://127.0.0.1:41234.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public ModelHost Model => _app!.Services.GetRequiredService<ModelHost>();

    public WebApplication App => _app!;

    public async Task InitializeAsync()
    {
        _app = QwenServerApp.Build(_args, _runner);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
