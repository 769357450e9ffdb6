using Qwen.Server.Hosting;

namespace Qwen.Server.Tests.Hosting;

/// <summary>The Swagger UI address the startup line gives: on the first bound address, a wildcard host made one a browser opens.</summary>
public sealed class StartupSummaryTests
{
    [Theory]
    [InlineData("http://127.0.0.1:41234", "http://127.0.0.1:41234/swagger")]
    [InlineData("http://localhost:8000", "http://localhost:8000/swagger")]
    [InlineData("https://example.com:8443", "https://example.com:8443/swagger")]
    [InlineData("http://[::1]:8000", "http://[::1]:8000/swagger")]
    [InlineData("http://0.0.0.0:8000", "http://localhost:8000/swagger")]
    [InlineData("http://[::]:8000", "http://localhost:8000/swagger")]
    [InlineData("http://+:8000", "http://localhost:8000/swagger")]
    [InlineData("http://*:8000", "http://localhost:8000/swagger")]
    public void SwaggerUrl_ListeningAddress_IsSwaggerUiOnAnAddressABrowserOpens(string listening, string expected)
        => Assert.Equal(expected, StartupSummary.BrowserUrl(listening, StartupSummary.SwaggerPath));
}
