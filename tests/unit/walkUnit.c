/*
 * walkUnit.c --
 *
 *	Unit tests of the walk below the document root that serves files
 *	when openat2 cannot (unix/dmFile.c, WalkBeneath): kernels before
 *	5.6, and absolute symbolic links, which openat2 refuses.  The file
 *	layer is compiled into this program without openat2, so every
 *	lookup here takes the walk.  A scratch tree of directories, files,
 *	links that stay inside the root and links that leave it is made
 *	under $TMPDIR (or /tmp); each lookup must give the file expected or
 *	404, and a FIFO outside the root must never be opened.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#undef HAVE_LINUX_OPENAT2_H
#include "dmFile.c"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

static int passed, failed;
static char base[PATH_MAX], root[PATH_MAX], realRoot[PATH_MAX];

/*
 *----------------------------------------------------------------------
 *
 * Cat --
 *
 *	Joins two strings into out[PATH_MAX].
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Exits if the result does not fit.
 *
 *----------------------------------------------------------------------
 */

static void
Cat(
    char *out,
    const char *a,
    const char *b)
{
    if (snprintf(out, PATH_MAX, "%s%s", a, b) >= PATH_MAX) {
	fprintf(stderr, "path too long: %s%s\n", a, b);
	exit(2);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Make --
 *
 *	Creates one entry of the scratch tree: a directory ("dir"), a file
 *	holding its own name ("file") or a symbolic link ("link" to
 *	target), at a path relative to base.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Exits if the entry cannot be made.
 *
 *----------------------------------------------------------------------
 */

static void
Make(
    const char *kind,
    const char *rel,
    const char *target)
{
    char path[PATH_MAX], dir[PATH_MAX];
    int ok;

    Cat(dir, base, "/");
    Cat(path, dir, rel);
    if (strcmp(kind, "dir") == 0) {
	ok = mkdir(path, 0755) == 0;
    } else if (strcmp(kind, "file") == 0) {
	FILE *f = fopen(path, "w");

	ok = f != NULL && fputs(rel, f) >= 0 && fclose(f) == 0;
    } else {
	ok = symlink(target, path) == 0;
    }
    if (!ok) {
	perror(path);
	exit(2);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Expect --
 *
 *	Looks a path up below the root through the walk and checks the
 *	outcome: the file whose content is want, or the status wantStatus.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the case; prints failures.
 *
 *----------------------------------------------------------------------
 */

static void
Expect(
    const char *relPath,
    const char *want,
    int wantStatus)
{
    int rootFd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int status = 0, fd;
    char got[256];
    ssize_t n = 0;

    fd = WalkBeneath(rootFd, realRoot, relPath, &status);
    if (fd >= 0) {
	n = read(fd, got, sizeof(got) - 1);
	got[n < 0 ? 0 : n] = '\0';
	close(fd);
    }
    close(rootFd);
    if (want != NULL ? (fd < 0 || strcmp(got, want) != 0)
	    : (fd >= 0 || status != wantStatus)) {
	printf("FAIL %s: got %s (status %d)\n", relPath,
		fd >= 0 ? got : "no file", status);
	failed++;
    } else {
	passed++;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * CheckFifoNotOpened --
 *
 *	A link inside the root to a FIFO outside it: a child blocks in
 *	open() of the FIFO for writing, which returns only when someone
 *	opens it for reading.  The walk must answer 404 and the child must
 *	still be blocked.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Forks a child and kills it.
 *
 *----------------------------------------------------------------------
 */

static void
CheckFifoNotOpened(void)
{
    char fifo[PATH_MAX], link[PATH_MAX];
    int report[2];
    pid_t pid;
    struct pollfd pfd;

    Cat(fifo, base, "/outside.fifo");
    Cat(link, root, "/pipe");
    if (mkfifo(fifo, 0600) < 0 || symlink(fifo, link) < 0
	    || pipe(report) < 0) {
	perror("fifo");
	exit(2);
    }
    pid = fork();
    if (pid == 0) {
	int fd = open(fifo, O_WRONLY);	/* Blocks until a reader comes. */

	if (write(report[1], "o", 1) < 0 || fd < 0) {
	    _exit(1);
	}
	_exit(0);
    }
    Expect("/pipe", NULL, 404);
    pfd.fd = report[0];
    pfd.events = POLLIN;
    if (poll(&pfd, 1, 300) != 0) {
	printf("FAIL /pipe: the FIFO outside the root was opened\n");
	failed++;
    } else {
	passed++;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(report[0]);
    close(report[1]);
    unlink(link);
    unlink(fifo);
}

/*
 *----------------------------------------------------------------------
 *
 * main --
 *
 *	Builds the tree, runs the lookups, removes the tree.
 *
 * Results:
 *	0 if every case passed, else 1.
 *
 * Side effects:
 *	Prints a summary line.
 *
 *----------------------------------------------------------------------
 */

int
main(void)
{
    const char *tmp = getenv("TMPDIR");
    char cmd[PATH_MAX + 16], abs[PATH_MAX];
    int n;

    snprintf(base, sizeof(base), "%s/dmwalk-XXXXXX",
	    (tmp != NULL && *tmp != '\0') ? tmp : "/tmp");
    if (mkdtemp(base) == NULL) {
	perror("mkdtemp");
	return 2;
    }
    Make("dir", "root", NULL);
    Make("dir", "root/d", NULL);
    Make("dir", "root/d/e", NULL);
    Make("file", "root/d/e/f.txt", NULL);
    Make("file", "root/top.txt", NULL);
    Make("file", "out.txt", NULL);
    Make("dir", "rootx", NULL);
    Make("file", "rootx/beside.txt", NULL);
    Cat(root, base, "/root");
    if (realpath(root, realRoot) == NULL) {
	perror(root);
	return 2;
    }

    /* Links that stay inside, relative and absolute. */
    Make("link", "root/rel", "d/e/f.txt");
    Make("link", "root/d/up", "../top.txt");
    Make("link", "root/d/dots", "e/../e/./f.txt");
    Cat(abs, realRoot, "/d/e/f.txt");
    Make("link", "root/abs", abs);
    Cat(abs, realRoot, "/d");
    Make("link", "root/absdir", abs);
    Make("link", "root/absroot", realRoot);
    Make("link", "root/chain", "absdir");
    Make("link", "root/d/e/back", "../../rel");

    /* Links that leave, or go nowhere. */
    Make("link", "root/relout", "../out.txt");
    Make("link", "root/d/deepout", "../../out.txt");
    Cat(abs, base, "/out.txt");
    Make("link", "root/absout", abs);
    Cat(abs, realRoot, "x/beside.txt");
    Make("link", "root/beside", abs);
    Make("link", "root/slash", "/");
    Make("link", "root/loop1", "loop2");
    Make("link", "root/loop2", "loop1");
    Make("link", "root/dangling", "nothing.txt");

    Expect("/top.txt", "root/top.txt", 0);
    Expect("/d/e/f.txt", "root/d/e/f.txt", 0);
    Expect("/rel", "root/d/e/f.txt", 0);
    Expect("/d/up", "root/top.txt", 0);
    Expect("/d/dots", "root/d/e/f.txt", 0);
    Expect("/abs", "root/d/e/f.txt", 0);
    Expect("/absdir/e/f.txt", "root/d/e/f.txt", 0);
    Expect("/absroot/top.txt", "root/top.txt", 0);
    Expect("/chain/e/f.txt", "root/d/e/f.txt", 0);
    Expect("/d/e/back", "root/d/e/f.txt", 0);
    Expect("/relout", NULL, 404);
    Expect("/d/deepout", NULL, 404);
    Expect("/absout", NULL, 404);
    Expect("/beside", NULL, 404);
    Expect("/slash", NULL, 404);
    Expect("/loop1", NULL, 404);
    Expect("/dangling", NULL, 404);
    Expect("/missing.txt", NULL, 404);
    Expect("/top.txt/more", NULL, 404);
    CheckFifoNotOpened();

    n = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (n < 0 || (size_t) n >= sizeof(cmd) || system(cmd) != 0) {
	fprintf(stderr, "could not remove %s\n", base);
    }
    printf("walkUnit: %d passed, %d failed\n", passed, failed);
    return failed > 0;
}
