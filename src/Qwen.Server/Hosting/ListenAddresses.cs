using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Qwen.Server.Hosting;

/// <summary>
/// The addresses Kestrel will listen on (the <c>urls</c> key that --urls and ASPNETCORE_URLS feed, else the http/https
/// ports), checked before the model loads: each must parse as Kestrel parses it, and each fixed port is bound for a moment
/// and released, so a bad address or one in use is one line at once instead of a stack trace or a failure after the load.
/// Kestrel endpoints in configuration are Kestrel's to report. Program.cs still handles a bind failure that races this check.
/// </summary>
internal static class ListenAddresses
{
    /// <summary>Throws <see cref="StartupException"/> naming <paramref name="from"/> when an address is malformed or taken.</summary>
    public static void Check(IConfiguration configuration, string from)
    {
        if (configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            return;
        }
        var addresses = Addresses(configuration, ref from);
        foreach (var (text, address) in addresses.Select(a => (a, Parse(a, from))))
        {
            foreach (var (endpoint, strict) in Endpoints(address))
            {
                Probe(text, endpoint, strict, from);
            }
        }
    }

    private static List<string> Addresses(IConfiguration configuration, ref string from)
    {
        static string[] Split(string value) => value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (configuration["urls"] is { } urls && !string.IsNullOrWhiteSpace(urls))
        {
            return [.. Split(urls)];
        }
        // As Kestrel reads ASPNETCORE_HTTP_PORTS / HTTPS_PORTS when no urls are set: each port on every interface.
        var list = new List<string>();
        foreach (var (key, scheme) in new[] { ("http_ports", "http"), ("https_ports", "https") })
        {
            foreach (var port in Split(configuration[key] ?? ""))
            {
                if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p > IPEndPoint.MaxPort)
                {
                    throw new StartupException($"cannot listen: port '{port}' of {key} must be an integer in [0, {IPEndPoint.MaxPort}]");
                }
                list.Add($"{scheme}://*:{p}");
                from = key;
            }
        }
        return list;
    }

    private static BindingAddress Parse(string text, string from)
    {
        const string Expected = "expected scheme://host:port, e.g. http://0.0.0.0:8000 or http://localhost:8000";
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(text);
        }
        catch (FormatException)
        {
            throw new StartupException($"cannot listen on '{text}' (from {from}): not an address; {Expected}");
        }
        if (address.Scheme is not ("http" or "https"))
        {
            throw new StartupException($"cannot listen on '{text}' (from {from}): the scheme must be http or https; {Expected}");
        }
        if (address.PathBase.Length > 0)
        {
            throw new StartupException($"cannot listen on '{text}' (from {from}): an address has no path; {Expected}");
        }
        if (!address.IsUnixPipe && !address.IsNamedPipe && address.Port > IPEndPoint.MaxPort)
        {
            throw new StartupException($"cannot listen on '{text}' (from {from}): the port must be in [0, {IPEndPoint.MaxPort}]; {Expected}");
        }
        return address;
    }

    /// <summary>
    /// The sockets Kestrel will bind for <paramref name="address"/>, each with whether any failure (not only "in use") stops it:
    /// localhost is 127.0.0.1 and, where the machine has it, [::1]; an IP is itself; any other host is every interface.
    /// Port 0 (any free port) and pipes cannot be taken in advance.
    /// </summary>
    private static IEnumerable<(IPEndPoint Endpoint, bool Strict)> Endpoints(BindingAddress address)
    {
        if (address.IsUnixPipe || address.IsNamedPipe || address.Port == 0)
        {
            yield break;
        }
        if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            yield return (new IPEndPoint(IPAddress.Loopback, address.Port), true);
            if (Socket.OSSupportsIPv6)
            {
                yield return (new IPEndPoint(IPAddress.IPv6Loopback, address.Port), false);
            }
        }
        else if (IPAddress.TryParse(address.Host, out var ip))
        {
            yield return (new IPEndPoint(ip, address.Port), true);
        }
        else
        {
            yield return (new IPEndPoint(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, address.Port), true);
        }
    }

    private static void Probe(string text, IPEndPoint endpoint, bool strict, string from)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            socket.DualMode = true; // as Kestrel binds "every interface": IPv6 and IPv4 on one socket
        }
        try
        {
            socket.Bind(endpoint);
            socket.Listen();
        }
        catch (SocketException e) when (strict || e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new StartupException($"cannot listen on {text} ({endpoint}, from {from}): {e.Message}; nothing was loaded", e);
        }
        catch (SocketException)
        {
            // [::1] of localhost: Kestrel too goes on with 127.0.0.1 alone when IPv6 loopback is unavailable.
        }
    }
}
