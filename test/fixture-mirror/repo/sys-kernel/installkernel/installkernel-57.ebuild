# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo
# sys-kernel/installkernel: installs a kernel into /boot and runs the
# plugins its USE flags enable (dracut: initramfs; grub: grub.cfg).
EAPI=8

DESCRIPTION="Gentoo fork of installkernel script from debianutils (fixture)"
HOMEPAGE="https://github.com/projg2/installkernel-gentoo"
LICENSE="GPL-2+"
SLOT="0"
KEYWORDS="amd64 x86"
IUSE="dracut grub"
S="${WORKDIR}"

RDEPEND="
	dracut? ( sys-kernel/dracut )
	grub? ( sys-boot/grub )
"

src_install() {
	# /sbin/installkernel on Gentoo (merged-usr: /usr/sbin), where Portage and
	# dist-kernel look for it.
	dosbin "${FILESDIR}"/installkernel
	exeinto /usr/lib/kernel/postinst.d
	use dracut && newexe "${FILESDIR}"/50-dracut.install 50-dracut.install
	use grub && newexe "${FILESDIR}"/91-grub-mkconfig.install 91-grub-mkconfig.install
}
