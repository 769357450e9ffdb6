using System.Diagnostics.CodeAnalysis;

namespace Qwen.OnnxExport.Hub;

/// <summary>A Hugging Face model repo id with a revision: org/name[@revision].</summary>
/// <param name="Id">"org/name".</param>
/// <param name="Revision">A branch, tag, "refs/pr/N" or 40-hex commit; "main" by default.</param>
public sealed record HubRepoId(string Id, string Revision)
{
    /// <summary>The revision used when none is given: the default branch.</summary>
    public const string DefaultRevision = "main";

    // The Hub's limit on each of org and name (huggingface_hub's validate_repo_id).
    private const int MaxPartLength = 96;

    // A revision names a file under refs/ in the cache, so it is kept to what a git ref may hold and never escapes it.
    private const int MaxRevisionLength = 256;

    /// <summary>The cache folder of this repo, as huggingface_hub names it: "models--org--name".</summary>
    public string CacheFolderName => "models--" + Id.Replace("/", "--", StringComparison.Ordinal);

    /// <summary>The organisation (or user) part of <see cref="Id"/>.</summary>
    public string Org => Id[..Id.IndexOf('/', StringComparison.Ordinal)];

    /// <summary>The name part of <see cref="Id"/>.</summary>
    public string Name => Id[(Id.IndexOf('/', StringComparison.Ordinal) + 1)..];

    /// <summary>
    /// Parses "org/name" or "org/name@rev". org and name follow the Hub's rule: letters, digits, '-', '_', '.', starting
    /// and ending with a letter, digit or '_', no "--" nor "..", not ending in ".git", at most 96 characters each.
    /// Anything else (a path such as "./x", "a/b/c" or "/abs") is not a repo id.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out HubRepoId? repo)
    {
        repo = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        var at = text.IndexOf('@', StringComparison.Ordinal);
        var id = at < 0 ? text : text[..at];
        var revision = at < 0 ? DefaultRevision : text[(at + 1)..];
        var slash = id.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !IsValidPart(id[..slash]) || !IsValidPart(id[(slash + 1)..]) || !IsValidRevision(revision))
        {
            return false;
        }
        repo = new HubRepoId(id, revision);
        return true;
    }

    /// <summary>"org/name", or "org/name@rev" when the revision is not "main".</summary>
    public override string ToString() => Revision == DefaultRevision ? Id : $"{Id}@{Revision}";

    private static bool IsValidPart(string part)
        => part.Length is > 0 and <= MaxPartLength
           && part.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
           && IsWordChar(part[0]) && IsWordChar(part[^1])
           && !part.Contains("--", StringComparison.Ordinal) && !part.Contains("..", StringComparison.Ordinal)
           && !part.EndsWith(".git", StringComparison.Ordinal);

    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static bool IsValidRevision(string revision)
        => revision.Length is > 0 and <= MaxRevisionLength
           && revision.All(c => c > ' ' && c < 127 && c is not ('\\' or '~' or '^' or ':' or '?' or '*' or '[' or '@'))
           && revision.Split('/').All(s => s.Length > 0 && s != "." && s != "..");
}
