namespace Qwen.Server.Tests.Playground;

/// <summary>The window a test page is laid out in: a desktop browser, or a phone (mobile emulation honours the page's meta viewport).</summary>
public sealed record BrowserViewport(int Width, int Height, bool IsMobile)
{
    /// <summary>A laptop browser window.</summary>
    public static readonly BrowserViewport Desktop = new(1280, 800, IsMobile: false);

    /// <summary>A current phone in portrait (iPhone 12 to 15 CSS pixels).</summary>
    public static readonly BrowserViewport Phone = new(390, 844, IsMobile: true);
}
