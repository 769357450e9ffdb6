using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Qwen.Server.Hosting;

namespace Qwen.Server.Tests.Hosting;

/// <summary>The listening address: http://localhost:8000 unless --urls, ASPNETCORE_URLS (or ports, or Kestrel endpoints) say otherwise. Nothing here binds port 8000.</summary>
public sealed class ServerUrlTests
{
    [Fact]
    public void DefaultUrlIfUnset_NothingConfigured_IsLocalhost8000()
        => Assert.Equal("http://localhost:8000", QwenServerApp.DefaultUrlIfUnset(new ConfigurationBuilder().Build()));

    [Theory]
    [InlineData("urls", "http://127.0.0.1:9000")]
    [InlineData("http_ports", "8080")]
    [InlineData("https_ports", "8443")]
    [InlineData("Kestrel:Endpoints:Http:Url", "http://0.0.0.0:9001")]
    public void DefaultUrlIfUnset_AddressConfigured_LeavesItAlone(string key, string value)
        => Assert.Null(QwenServerApp.DefaultUrlIfUnset(new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build()));

    [Fact]
    public async Task Build_NoAddressGiven_ConfiguresLocalhost8000()
    {
        // This test process's own environment feeds the builder: expect what it implies (CI sets none of these).
        var urls = Environment.GetEnvironmentVariable("ASPNETCORE_URLS") ?? Environment.GetEnvironmentVariable("DOTNET_URLS");
        var ports = Environment.GetEnvironmentVariable("ASPNETCORE_HTTP_PORTS") ?? Environment.GetEnvironmentVariable("ASPNETCORE_HTTPS_PORTS");
        var expected = urls ?? (ports is null ? "http://localhost:8000" : null);
        WebApplication app;
        try
        {
            app = QwenServerApp.Build(["--threads", "1", "--max-model-len", "256", "--max-num-seqs", "1"], (_, o) => new ScriptedRunner(151936, o.MaxNumSeqs, o.MaxModelLen));
        }
        catch (StartupException e) when (expected is not null && e.Message.StartsWith($"cannot listen on {expected} ", StringComparison.Ordinal))
        {
            return; // something on this machine holds the address: Build checked the one expected
        }
        await using (app)
        {
            Assert.Equal(expected, app.Configuration["urls"]);
        }
    }

    [Theory]
    [InlineData("18103", "cannot listen on '18103' (from --urls): not an address; expected scheme://host:port")]
    [InlineData("localhost:8000", "cannot listen on 'localhost:8000' (from --urls): not an address")]
    [InlineData("ftp://127.0.0.1:0", "cannot listen on 'ftp://127.0.0.1:0' (from --urls): the scheme must be http or https")]
    [InlineData("http://127.0.0.1:70000", "cannot listen on 'http://127.0.0.1:70000' (from --urls): the port must be in [0, 65535]")]
    [InlineData("http://127.0.0.1:0;18103", "cannot listen on '18103' (from --urls)")]
    public void Build_MalformedUrls_OneLineNamingTheAddress_BeforeTheModelLoads(string urls, string expected)
    {
        var loaded = false;
        var e = Assert.Throws<StartupException>(() => QwenServerApp.Build(["--urls", urls, "--threads", "1"], (_, o) =>
        {
            loaded = true;
            return new ScriptedRunner(151936, o.MaxNumSeqs, o.MaxModelLen);
        }));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(loaded);
    }

    [Fact]
    public async Task Server_AspNetCoreUrls_ChoosesTheAddress_AndUrlsFlagWinsOverIt()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await using (var byEnv = ServerProcess.Start(["--threads", "1", "--max-model-len", "256"], new Dictionary<string, string> { ["ASPNETCORE_URLS"] = "http://127.0.0.2:0" }))
        {
            var address = await byEnv.WaitForListeningAsync(TimeSpan.FromMinutes(2));
            Assert.Equal("127.0.0.2", address.Host);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync(new Uri(address, "/health"))).StatusCode);
        }

        // ASPNETCORE_URLS names a port already taken: the server only starts if --urls wins.
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var takenPort = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        await using var byFlag = ServerProcess.Start(["--threads", "1", "--max-model-len", "256", "--urls", "http://127.0.0.1:0"], new Dictionary<string, string> { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{takenPort}" });
        var flagged = await byFlag.WaitForListeningAsync(TimeSpan.FromMinutes(2));
        Assert.NotEqual(takenPort, flagged.Port);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync(new Uri(flagged, "/health"))).StatusCode);
    }
}
