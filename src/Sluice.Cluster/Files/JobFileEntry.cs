namespace Sluice.Cluster.Files;

/// <summary>
/// One file an actor's processor opens, as the driver sends it: the option that names it (its JSON name), the SHA-256
/// of its bytes (lowercase hex, the cache key), its length and its file name (the name it keeps in the worker's cache:
/// a reader that looks at the extension still sees <c>.onnx</c>). Nothing here is trusted by the worker until checked.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record JobFileEntry(
    [property: Id(0)] string Option, [property: Id(1)] string Sha256, [property: Id(2)] long Length, [property: Id(3)] string FileName);
