# Fixture only (automagic's offline Gentoo-shaped mirror), never Gentoo's.
# @ECLASS: fixture-debian.eclass
# @BLURB: install files that the fixture build unpacked from Debian packages
# @DESCRIPTION:
# The fixture's ebuilds install the files of Debian trixie packages: the
# fixture build unpacks them (dpkg-deb -x) into ${P}/ and packs that as the
# fetch-restricted distfile ${P}-debian.tar, then real Portage builds
# signed gpkg binary packages from these ebuilds. Everything around the files
# (USE flags, keywords, licenses, dependencies, pkg_* phases) is Portage's.

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI:-0} not supported" ;;
esac

SRC_URI="${P}-debian.tar"
S="${WORKDIR}/${P}"
RESTRICT="fetch mirror strip test"

fixture-debian_pkg_nofetch() {
	einfo "${A} is made by automagic's fixture build (test/fixture-mirror) from Debian packages."
}

# @FUNCTION: fixture-debian_src_install
# @DESCRIPTION: copies the unpacked tree into the image.
fixture-debian_src_install() {
	cp -a "${S}"/. "${ED}"/ || die "copying ${P} into the image failed"
}

EXPORT_FUNCTIONS pkg_nofetch src_install
