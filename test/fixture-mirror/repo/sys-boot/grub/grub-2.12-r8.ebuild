# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo sys-boot/grub.
EAPI=8
inherit fixture-debian

DESCRIPTION="GNU GRUB boot loader (fixture: Debian's build)"
HOMEPAGE="https://www.gnu.org/software/grub/"
LICENSE="GPL-3+"
SLOT="2/${PVR}"
KEYWORDS="amd64 x86"

GRUB_ALL_PLATFORMS=( efi-64 pc )
IUSE="${GRUB_ALL_PLATFORMS[@]/#/grub_platforms_}"
REQUIRED_USE="|| ( ${GRUB_ALL_PLATFORMS[@]/#/grub_platforms_} )"

src_install() {
	fixture-debian_src_install
	insinto /etc/default
	newins "${FILESDIR}"/grub.default grub
	# Only the platforms asked for in GRUB_PLATFORMS are installed: grub-install
	# for another firmware fails, as on Gentoo.
	use grub_platforms_pc || rm -r "${ED}"/usr/lib/grub/i386-pc || die
	if ! use grub_platforms_efi-64; then
		rm -r "${ED}"/usr/lib/grub/x86_64-efi || die
		rm -rf "${ED}"/usr/lib/grub/x86_64-efi-signed || die
	fi
}

pkg_postinst() {
	elog "Run grub-install and grub-mkconfig -o /boot/grub/grub.cfg to (re)install the boot loader."
}
