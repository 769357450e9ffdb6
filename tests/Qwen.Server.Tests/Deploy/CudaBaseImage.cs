using System.Globalization;
using System.Text.RegularExpressions;

namespace Qwen.Server.Tests.Deploy;

/// <summary>The Dockerfile's default CUDA base image (<c>ARG CUDA_IMAGE=...</c>) and the CUDA major its tag names.</summary>
internal sealed partial record CudaBaseImage(string Image, int CudaMajor)
{
    /// <summary>The <c>ARG CUDA_IMAGE</c> default of <paramref name="dockerfile"/> (the Dockerfile's text).</summary>
    public static CudaBaseImage FromDockerfile(string dockerfile)
    {
        var arg = CudaImageArg().Match(dockerfile);
        if (!arg.Success)
        {
            throw new InvalidDataException("the Dockerfile has no `ARG CUDA_IMAGE=<image>` line");
        }
        return FromImage(arg.Groups[1].Value);
    }

    /// <summary>An image reference such as <c>nvidia/cuda:13.0.3-cudnn-runtime-ubuntu24.04</c>, optionally with a registry and a digest.</summary>
    public static CudaBaseImage FromImage(string image)
    {
        // nvidia/cuda tags read <major>.<minor>[.<patch>]-[cudnn[N]-]{base,runtime,devel}-<os>. The tag follows the last ':'
        // of the name (a registry may carry a port); a digest (@sha256:...) may follow it.
        var name = image.Split('@')[0];
        var tag = name[(name.LastIndexOf(':') + 1)..];
        var version = TagVersion().Match(tag);
        if (!version.Success)
        {
            throw new InvalidDataException($"CUDA_IMAGE {image}: the tag '{tag}' does not start with a CUDA version (<major>.<minor>[.<patch>]-)");
        }
        return new CudaBaseImage(image, int.Parse(version.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>Why this image cannot load a library whose DT_NEEDED sonames are <paramref name="needed"/>; null when the CUDA majors agree.</summary>
    public string? MismatchWith(IReadOnlyList<string> needed)
    {
        // libcudart, libcublas and libcublasLt carry the CUDA major in their soname; libcurand (.so.10 in CUDA 12 and 13)
        // and libcufft follow their own numbering, so they say nothing about the major.
        var cuda = needed.Select(n => CudaSoname().Match(n)).Where(m => m.Success).ToList();
        if (cuda.Count == 0)
        {
            return $"the library needs none of libcudart, libcublas, libcublasLt (it needs {string.Join(", ", needed)})";
        }
        var names = string.Join(", ", cuda.Select(m => m.Value));
        var majors = cuda.Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().ToList();
        if (majors.Count > 1)
        {
            return $"the library's CUDA libraries name different CUDA majors: {names}";
        }
        return majors[0] == CudaMajor
            ? null
            : $"CUDA_IMAGE {Image} is CUDA {CudaMajor}, but the library needs {names} (CUDA {majors[0]})";
    }

    [GeneratedRegex(@"^ARG CUDA_IMAGE=(\S+)[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex CudaImageArg();

    [GeneratedRegex(@"^(\d+)\.\d+(\.\d+)?-")]
    private static partial Regex TagVersion();

    [GeneratedRegex(@"^lib(?:cudart|cublas|cublasLt)\.so\.(\d+)$")]
    private static partial Regex CudaSoname();
}
