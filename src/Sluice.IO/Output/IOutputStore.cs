namespace Sluice.IO.Output;

/// <summary>
/// Where a file sink's committed files live: a local directory (<see cref="LocalOutputStore"/>) or an S3 prefix
/// (<see cref="ObjectStorage.S3OutputStore"/>). Every file is made in a local staging directory first (parts in
/// <c>.tmp/</c>, the manifest's working copy) and then published whole: by rename, or by an upload that S3 makes visible
/// all at once. The sink's protocol is the same for both: publish the part (and its dead letters), then record it in the
/// manifest, then <see cref="PushManifest"/>; a file published but not recorded is deleted by the next resume.
/// Names are relative to the output: <c>part-…</c>, <c>_errors/…</c>, <c>_SUCCESS</c>. Errors are
/// <see cref="IOException"/>s or <see cref="SluiceException"/>s that name the output.
/// </summary>
internal interface IOutputStore : IDisposable
{
    /// <summary>The output as messages name it (a path, or the URL without credentials).</summary>
    string Display { get; }

    /// <summary>The local directory holding <c>.tmp/</c> and the manifest's working copy (for a local output, the output itself).</summary>
    string Staging { get; }

    /// <summary>Creates what the output needs and takes its lock; refuses, naming the holder, when another run writes it.</summary>
    IDisposable Open();

    /// <summary>Makes the staging manifest the output's own (a remote output's is downloaded; none there: none here).</summary>
    void PullManifest(string stagingManifest);

    /// <summary>
    /// Publishes the staging manifest. <paramref name="now"/> false: it may wait for the next call (a record that only
    /// saves re-reading work after a kill); true: it is in place when this returns, committing what it records.
    /// </summary>
    void PushManifest(string stagingManifest, bool now);

    /// <summary>Removes the output's manifest.</summary>
    void DeleteManifest(string stagingManifest);

    /// <summary>The part files (<c>part-*</c>) the output holds, by name.</summary>
    IReadOnlyList<string> PartNames();

    /// <summary>The files under <c>_errors/</c>, by name (without the folder).</summary>
    IReadOnlyList<string> ErrorNames();

    /// <summary>Whether the output holds <paramref name="name"/> as recorded: present, of that size and checksum (each when known).</summary>
    bool Holds(string name, long? bytes, string? sha256);

    /// <summary>Puts the complete local file at <paramref name="name"/> in one step (it is visible whole or not at all), consuming the local file.</summary>
    void Publish(string localFile, string name, string? sha256);

    /// <summary>Deletes <paramref name="name"/> if present.</summary>
    void Delete(string name);

    /// <summary>A local, readable copy of <paramref name="name"/> (the file itself when local, else a download into staging).</summary>
    string? LocalCopy(string name);

    /// <summary>Whether <paramref name="inputPath"/> (an input file's path or URL) lies inside the output.</summary>
    bool Contains(string inputPath);
}
