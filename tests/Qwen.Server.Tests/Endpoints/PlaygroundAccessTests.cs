using System.Net;
using System.Text.Json;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>The playground with API keys (the page is open, the API it calls is not) and with --playground false (gone).</summary>
public sealed class PlaygroundAccessTests
{
    [Fact]
    public async Task WithApiKeys_PageOpen_ApiNeedsTheKey()
    {
        await using var server = new KeyedServer();
        await server.InitializeAsync();
        using var page = await server.Http.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using var models = await server.Http.GetAsync(new Uri("/v1/models", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
    }

    [Fact]
    public async Task PlaygroundFalse_RootIsAnUnknownRoute()
    {
        await using var server = new NoPlaygroundServer();
        await server.InitializeAsync();
        foreach (var path in new[] { "/", "/playground/playground.js" })
        {
            using var response = await server.Http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("not_found", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        }
    }

    private sealed class KeyedServer() : ServerFixture(["--api-keys", "sk-page"]), IAsyncDisposable
    {
        ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
    }

    private sealed class NoPlaygroundServer() : ServerFixture(["--playground", "false"]), IAsyncDisposable
    {
        ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
    }
}
