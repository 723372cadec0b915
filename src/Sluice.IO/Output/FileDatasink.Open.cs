using System.Security.Cryptography;
using Sluice.Contracts;

namespace Sluice.IO.Output;

/// <summary>
/// Opening an output. Every refusal comes before the output is touched: the path is checked, the
/// lock taken, the recorded fingerprint compared; only then are parts deleted (overwrite) or
/// verified (resume).
/// </summary>
internal abstract partial class FileDatasink
{
    // A refusal lists this many differences, then counts the rest: enough to see the cause.
    private const int DifferencesShown = 5;

    public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) =>
        OpenAsync(mode, fingerprint: null, inputs: null, cancellationToken);

    public override ValueTask<SinkState> OpenAsync(WriteMode mode, OutputFingerprint? fingerprint, DatasourceInputs? inputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (mode is not (WriteMode.ErrorIfExists or WriteMode.Overwrite or WriteMode.Resume))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "expected ErrorIfExists, Overwrite or Resume");
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (inputs is not null) RefuseOutputInsideInput(full, inputs);
        CreateDirectory(full);
        lock (_lock)
        {
            if (_outputLock is not null) throw new InvalidOperationException($"{Name} is already open");
            try
            {
                _outputLock = OutputLock.Acquire(directory);
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                // Creating the lock file is the first write into the output: a read-only directory or file system shows here.
                throw new SluiceException($"output '{directory}' is not writable ({e.Message}); give write.path a directory you can write", e);
            }
            lock (_appendLock)
            {
                _open = null;
                _accepted.Clear();
                _broken = null;
            }
            try
            {
                return ValueTask.FromResult(OpenLocked(mode, fingerprint is null ? null : WithWriteOptions(fingerprint)));
            }
            catch
            {
                ReleaseLock();
                throw;
            }
        }
    }

    private SinkState OpenLocked(WriteMode mode, OutputFingerprint? fingerprint)
    {
        switch (mode)
        {
            case WriteMode.ErrorIfExists:
                var parts = PartFiles().Count;
                if (parts > 0 || File.Exists(ManifestPath))
                {
                    throw new SluiceException(
                        $"output '{directory}' already holds output ({parts} part files{(File.Exists(ManifestPath) ? ", a manifest" : "")}); " +
                        "pass --resume to continue it or --overwrite to start over (write.mode: resume / overwrite in the job spec)");
                }
                DeleteTmp();
                _manifest.Load();
                break;
            case WriteMode.Overwrite:
                foreach (var part in PartFiles()) File.Delete(part);
                DeadLetterFile.DeleteAll(directory);
                File.Delete(ManifestPath);
                File.Delete(Path.Combine(directory, SuccessFile));
                DeleteTmp();
                _manifest.Load();
                break;
            default:
                _manifest.Load();
                if (fingerprint is not null && _manifest.Fingerprint is { } recorded) RefuseDifferentJob(WrittenBefore(fingerprint, recorded), recorded);
                // Temporary files are leftovers of a killed run: never committed, never referenced.
                DeleteTmp();
                VerifyParts();
                DeleteUncommittedParts();
                DeadLetterFile.DeleteUncommitted(directory, _manifest.ErrorFiles);
                break;
        }
        // A manifest without a fingerprint (written before fingerprints, or by a caller that gave
        // none) adopts this run's, so the next resume is checked.
        if (fingerprint is not null && _manifest.Fingerprint is null) _manifest.AppendFingerprint(fingerprint);
        OnOpened(_manifest.FirstPart is { } first ? Path.Combine(directory, first) : null);
        return new SinkState(
            new HashSet<string>(_manifest.Tasks, StringComparer.Ordinal),
            new HashSet<string>(_manifest.Blocks, StringComparer.Ordinal));
    }

    /// <summary>The job's fingerprint with how this sink sizes and encodes files: a resume that would write them otherwise is refused.</summary>
    private OutputFingerprint WithWriteOptions(OutputFingerprint fingerprint)
    {
        var fields = new SortedDictionary<string, string>(fingerprint.Fields.ToDictionary(), StringComparer.Ordinal);
        foreach (var (name, value) in options.FingerprintFields()) fields[name] = value;
        return new OutputFingerprint(fields);
    }

    /// <summary>
    /// An output recorded before file sizing existed (no <c>write.target_file_size</c>) holds one block per part,
    /// which any sizing can continue: its fingerprint is compared without the sizing fields.
    /// </summary>
    private OutputFingerprint WrittenBefore(OutputFingerprint fingerprint, OutputFingerprint recorded)
    {
        if (recorded.Fields.ContainsKey("write.target_file_size")) return fingerprint;
        var own = options.FingerprintFields().Select(f => f.Key).ToHashSet(StringComparer.Ordinal);
        return new OutputFingerprint(fingerprint.Fields.Where(f => !own.Contains(f.Key)).ToDictionary(StringComparer.Ordinal));
    }

    /// <summary>
    /// Drops from the committed sets every block whose part file is missing, or differs in size or
    /// checksum from what the manifest recorded (deleted or truncated behind the job's back): the job
    /// re-reads its task and writes it again. Reads every committed part once, the price of
    /// knowing that a resumed output is whole.
    /// </summary>
    private void VerifyParts()
    {
        foreach (var record in _manifest.Parts.ToList())
        {
            var path = Path.Combine(directory, record.Part!);
            var info = new FileInfo(path);
            var intact = info.Exists
                && (record.Bytes is not { } bytes || info.Length == bytes)
                && (record.Sha256 is not { } sha || string.Equals(Sha256Of(path), sha, StringComparison.Ordinal));
            if (!intact) _manifest.Forget(record);
        }
    }

    /// <summary>
    /// Removes part files the manifest does not hold as committed: a kill between rename and record,
    /// a part found damaged above, or a part named by an older naming scheme. None of them is
    /// committed, so the resumed job writes what they should hold and the output keeps only
    /// committed rows, whatever the files are called.
    /// </summary>
    private void DeleteUncommittedParts()
    {
        var committed = _manifest.Parts.Select(p => p.Part!).ToHashSet(StringComparer.Ordinal);
        foreach (var part in PartFiles())
        {
            if (!committed.Contains(Path.GetFileName(part))) File.Delete(part);
        }
    }

    private static string Sha256Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private void RefuseDifferentJob(OutputFingerprint fingerprint, OutputFingerprint recorded)
    {
        var differences = fingerprint.DifferencesFrom(recorded);
        if (differences.Count == 0) return;
        var shown = string.Join("; ", differences.Take(DifferencesShown));
        var more = differences.Count > DifferencesShown ? $"; and {differences.Count - DifferencesShown} more" : "";
        throw new SluiceException(
            $"cannot resume output '{directory}': it was written by a different job or from other inputs ({shown}{more}); " +
            "resuming would mix two jobs' rows — resume with the same inputs and spec, or pass --overwrite to start over");
    }

    private void RefuseOutputInsideInput(string full, DatasourceInputs inputs)
    {
        var listed = inputs.ListedDirectories.FirstOrDefault(d => string.Equals(d, full, StringComparison.Ordinal));
        var inside = inputs.Files.FirstOrDefault(f => f.Path.StartsWith(full + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        if (listed is null && inside is null) return;
        throw new SluiceException(
            $"output '{directory}' is inside the job's input ({(listed is not null ? "the input lists that directory" : $"input file '{inside!.Path}' lies in it")}); " +
            "every run would read its own parts back as input — write to a directory outside the input");
    }

    private void CreateDirectory(string full)
    {
        if (File.Exists(full))
            throw new SluiceException($"output '{directory}' is a file, not a directory; give write.path a directory (it is created if missing) or move the file away");
        try
        {
            System.IO.Directory.CreateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SluiceException($"output '{directory}' cannot be created ({e.Message}); give write.path a directory you can write", e);
        }
    }
}
