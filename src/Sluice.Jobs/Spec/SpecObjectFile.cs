namespace Sluice.Jobs;

/// <summary>A job file the spec gives as a URL (<c>stages[1].model: s3://bucket/model.onnx</c>), as binding found it.</summary>
/// <param name="Field">The field's path in the spec.</param>
/// <param name="Url">The object's URL.</param>
/// <param name="Length">Its size in bytes, as the server says (-1 when it does not say).</param>
/// <param name="LocalPath">The local copy the job uses; null when <c>explain</c> only asked the server and the cache does not hold this version.</param>
public sealed record SpecObjectFile(string Field, Uri Url, long Length, string? LocalPath);
