using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Qwen.Server.Tests.Deploy;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// The playground's files over HTTP: what / and /playground/* serve is byte for byte the files in
/// src/Qwen.Server/Playground, with their types, a policy that lets the page load nothing from elsewhere, and
/// revalidation. (What the page reads from the API, the model card's extensions and /tokenize's tool_choice, is tested in
/// <see cref="OtherEndpointsTests"/>; the page with API keys and without the setting in <see cref="PlaygroundAccessTests"/>.)
/// </summary>
public sealed partial class PlaygroundEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly string Source = Path.Combine(RepoRoot.Path, "src", "Qwen.Server", "Playground");

    [Fact]
    public async Task Root_ServesIndexHtml_AndEveryFileItLinks_AsTheyAreInTheRepo()
    {
        using var page = await server.Http.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Source, "index.html")), html);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        using var head = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/"));
        Assert.Equal((HttpStatusCode.OK, "text/html"), (head.StatusCode, head.Content.Headers.ContentType!.MediaType));
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        var linked = LinkRegex().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["/playground/icon.svg", "/playground/playground.css", "/playground/playground.js"], linked.Order(StringComparer.Ordinal));
        foreach (var path in linked)
        {
            using var asset = await server.Http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            var type = Path.GetExtension(path) switch { ".css" => "text/css", ".svg" => "image/svg+xml", _ => "text/javascript" };
            Assert.Equal(type, asset.Content.Headers.ContentType!.MediaType);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Source, Path.GetFileName(path))), await asset.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public void PageFiles_NameNoOtherOrigin()
    {
        // No CDN, fonts or analytics: every address in the page's files is the server's own (a path). An XML namespace
        // is a name, not an address: nothing is fetched from it.
        foreach (var file in Directory.GetFiles(Source))
        {
            var text = Regex.Replace(File.ReadAllText(file), "xmlns=\"[^\"]*\"", "");
            Assert.DoesNotMatch("(?i)(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}", text);
        }
    }

    [Fact]
    public async Task Asset_SameETag_304_UnknownName_JsonNotFound()
    {
        using var first = await server.Http.GetAsync(new Uri("/playground/playground.js", UriKind.Relative));
        var etag = first.Headers.ETag!;
        Assert.Equal("no-cache", first.Headers.CacheControl!.ToString());
        using var again = new HttpRequestMessage(HttpMethod.Get, "/playground/playground.js") { Headers = { IfNoneMatch = { etag } } };
        using var notModified = await server.Http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        using var missing = await server.Http.GetAsync(new Uri("/playground/missing.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("not_found", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [GeneratedRegex("(?:src|href)=\"(/playground/[^\"]+)\"")]
    private static partial Regex LinkRegex();
}
